"""The mixer's arithmetic, one row per stage: who sends what, who is muted, and the program and
mix-minus every speaker must get back, to the sample.

Each speaker sends a constant frame (a DC level), so a row reads as plain sums: the program is
the sum of the unmuted speakers above the silence floor, clipped to int16; a talker's mix-minus
is that sum without them, clipped on its own (from the unclipped sum, not the clipped program);
everyone else shares the program frame itself. See tests/unit/media/test_mixer.py for the mixer over
time (holds, the jitter FIFO) and with tones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from majlis.media.mixer import FRAME_SAMPLES, SILENCE_DBFS, Mixer, level_dbfs

#: A constant level just under and just over the silence floor (-60 dBFS is ~32.8 of 32768).
UNDER_FLOOR, OVER_FLOOR = 20, 40


@dataclass(frozen=True)
class Row:
    sends: dict[str, int]
    program: int
    minus: dict[str, int]
    muted: frozenset[str] = frozenset()
    #: Speakers whose input has fewer frames than the priming depth: nothing to mix yet.
    unprimed: frozenset[str] = field(default_factory=frozenset)


ROWS = {
    "one talker hears silence": Row({"a": 1000}, 1000, {"a": 0}),
    "two talkers hear each other": Row({"a": 1000, "b": -300}, 700, {"a": -300, "b": 1000}),
    "a muted speaker is left out and shares the program": Row(
        {"a": 1000, "b": 2000, "c": 4000}, 3000, {"a": 2000, "b": 1000}, muted=frozenset("c")
    ),
    "under the silence floor is left out": Row({"a": 1000, "b": UNDER_FLOOR}, 1000, {"a": 0}),
    "over the silence floor counts": Row(
        {"a": 1000, "b": OVER_FLOOR}, 1000 + OVER_FLOOR, {"a": OVER_FLOOR, "b": 1000}
    ),
    "the program clips high": Row({"a": 30000, "b": 10000}, 32767, {"a": 10000, "b": 30000}),
    "the program clips low": Row({"a": -30000, "b": -10000}, -32768, {"a": -10000, "b": -30000}),
    "each mix-minus is taken from the unclipped sum": Row(
        {"a": 20000, "b": 20000, "c": -5000}, 32767, {"a": 15000, "b": 15000, "c": 32767}
    ),
    "nobody talking is silence": Row({"a": 0, "b": 0}, 0, {}),
    "an unprimed input adds nothing yet": Row(
        {"a": 1000, "b": 500}, 1000, {"a": 0}, unprimed=frozenset("b")
    ),
}


def frame(value: int) -> np.ndarray:
    return np.full(FRAME_SAMPLES, value, dtype=np.int16)


@pytest.mark.parametrize("name", list(ROWS))
def test_program_and_mix_minus(name: str) -> None:
    row = ROWS[name]
    mixer = Mixer()
    for key, value in row.sends.items():
        frames = 1 if key in row.unprimed else 2  # the input primes at two frames
        mixer.add(key).push(np.tile(frame(value), frames))
    mixer.muted |= row.muted

    mix = mixer.tick()

    np.testing.assert_array_equal(mix.program, frame(row.program))
    assert set(mix.minus) == set(row.minus)
    for key, value in row.minus.items():
        np.testing.assert_array_equal(mix.minus[key], frame(value), err_msg=key)
    for key in row.sends.keys() - row.minus.keys():
        assert mix.for_speaker(key) is mix.program  # shares the program's frame (and encode)
    heard = row.sends.keys() - row.muted - row.unprimed
    assert set(mix.levels) == heard
    assert all(mix.levels[key] == level_dbfs(frame(row.sends[key])) for key in heard)


@pytest.mark.parametrize(
    ("value", "counts"), [(0, False), (UNDER_FLOOR, False), (OVER_FLOOR, True), (32767, True)]
)
def test_the_silence_floor(value: int, counts: bool) -> None:
    assert (level_dbfs(frame(value)) > SILENCE_DBFS) is counts
