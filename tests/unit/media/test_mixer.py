"""The mixer: program, mix-minus, mute, silence shortcut, jitter FIFO."""

from __future__ import annotations

import numpy as np

from majlis.media.mixer import (
    FRAME_SAMPLES,
    HOLD_TICKS,
    SAMPLE_RATE,
    Mixer,
    SpeakerInput,
    level_dbfs,
)


def tone(freq: float, amplitude: float = 0.25, frames: int = 1) -> np.ndarray:
    t = np.arange(FRAME_SAMPLES * frames) / SAMPLE_RATE
    return (amplitude * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def feed(mixer: Mixer, key: str, pcm: np.ndarray) -> None:
    mixer.inputs[key].push(pcm)


def test_program_is_the_sum_and_each_talker_hears_everyone_but_themselves() -> None:
    mixer = Mixer()
    for key in ("a", "b", "c"):
        mixer.add(key)
    a, b = tone(440, frames=3), tone(660, frames=3)
    feed(mixer, "a", a)
    feed(mixer, "b", b)
    feed(mixer, "c", np.zeros(FRAME_SAMPLES * 3, dtype=np.int16))  # silent
    mix = mixer.tick()
    first_a, first_b = a[:FRAME_SAMPLES], b[:FRAME_SAMPLES]
    np.testing.assert_array_equal(mix.program, first_a.astype(np.int32) + first_b)
    np.testing.assert_array_equal(mix.for_speaker("a"), first_b)
    np.testing.assert_array_equal(mix.for_speaker("b"), first_a)
    # The silent speaker shares the program itself: no extra mix, no extra encode.
    assert "c" not in mix.minus and mix.for_speaker("c") is mix.program


def test_a_talker_keeps_their_own_stream_through_a_late_frame() -> None:
    """One missing frame must not move a talker onto the program's encoder (whose Opus packet
    overlaps the frame before, with their own voice); after HOLD_TICKS they share it again."""
    mixer = Mixer()
    for key in ("a", "b"):
        mixer.add(key)
    feed(mixer, "a", tone(440, frames=2))
    feed(mixer, "b", tone(660, frames=2 + HOLD_TICKS + 1))
    mixer.tick()
    mixer.tick()
    late = mixer.tick()  # a's FIFO is empty: a late frame
    assert "a" in late.minus
    np.testing.assert_array_equal(late.for_speaker("a"), late.program)  # b only, a's own stream
    for _ in range(HOLD_TICKS - 2):
        assert "a" in mixer.tick().minus
    assert "a" not in mixer.tick().minus  # the hold ran out: a shares the program again
    mixer.remove("a")
    assert "a" not in mixer.tick().minus


def test_muted_speakers_leave_the_mix() -> None:
    mixer = Mixer()
    mixer.add("a")
    mixer.add("b")
    mixer.muted.add("a")
    feed(mixer, "a", tone(440, frames=2))
    feed(mixer, "b", tone(660, frames=2))
    mix = mixer.tick()
    np.testing.assert_array_equal(mix.program, tone(660))
    assert "a" not in mix.levels


def test_clipping_saturates_instead_of_wrapping() -> None:
    mixer = Mixer()
    loud = np.full(FRAME_SAMPLES * 2, 30000, dtype=np.int16)
    for key in ("a", "b"):
        mixer.add(key)
        feed(mixer, key, loud)
    assert int(mixer.tick().program.min()) == 32767


def test_nobody_talking_is_silence() -> None:
    mixer = Mixer()
    mixer.add("a")
    assert not mixer.tick().program.any()


def test_input_rechunks_primes_and_bounds_latency() -> None:
    source = SpeakerInput(prime_frames=2, max_frames=4)
    source.push(tone(440, frames=1)[:500])
    assert source.pop() is None  # less than a frame
    source.push(tone(440, frames=2)[500:])
    assert source.pop() is not None  # primed with two frames: starts
    source.push(tone(440, frames=10))
    assert source.dropped > 0  # the backlog was cut to max_frames
    while source.pop() is not None:
        pass
    assert source.underruns == 1


def test_levels() -> None:
    assert level_dbfs(np.zeros(FRAME_SAMPLES, dtype=np.int16)) == -120.0
    full_scale_sine = level_dbfs(tone(1000, amplitude=1.0))
    assert -3.2 < full_scale_sine < -2.8


def test_a_standing_queue_is_cut_back_to_the_cushion() -> None:
    """After a stall the FIFO can stay long forever (one frame in, one out): that is latency."""
    source = SpeakerInput(prime_frames=2, max_frames=8, standing_limit_ticks=10)
    source.push(tone(440, frames=7))  # a burst after a stall
    lengths = []
    for _ in range(30):
        source.push(tone(440, frames=1))  # steady state: one in, one out per tick
        assert source.pop() is not None
        lengths.append(len(source._frames))
    assert lengths[0] == 7 and lengths[-1] <= 2
    assert source.dropped == 6  # 8 queued at the cut (7 + this tick's push), back to 2
