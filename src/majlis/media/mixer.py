"""The mixer: one program mix per Space, and a mix-minus for each speaker who is talking.

Why mix-minus only for the talkers: a speaker who is silent (or muted) contributes nothing, so
what they should hear is exactly the program. Only speakers with signal in this tick need their
own mix (program minus themselves); everyone else shares the program frame, and with it one
encode. On a stage of 13 where one or two talk at a time, that is 2-3 mixes instead of 13.

All audio here is 48 kHz mono int16, in frames of 20 ms (960 samples), the WebRTC frame size.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960
FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
#: Below this RMS level (dBFS) a frame counts as silence: it is left out of the mix.
SILENCE_DBFS = -60.0
#: Above this a speaker counts as speaking (the ring on their avatar).
SPEAKING_DBFS = -42.0

Pcm = npt.NDArray[np.int16]
SILENT_FRAME: Pcm = np.zeros(FRAME_SAMPLES, dtype=np.int16)
#: A talker keeps their own mix-minus this many ticks (0.5 s) after their last frame with
#: signal. Without it one late or quiet frame moved them to the program's stream for a tick, and
#: an Opus packet overlaps the frame before it, where their own voice was: a brief echo of
#: themselves (seen under load as their own tone only 29x below the others', not 100x).
HOLD_TICKS = 25


def level_dbfs(frame: Pcm) -> float:
    """RMS level of a frame relative to full scale; -inf dBFS is clamped to -120."""
    rms = float(np.sqrt(np.mean(np.square(frame, dtype=np.float64))))
    return -120.0 if rms < 1e-6 else 20.0 * float(np.log10(rms / 32768.0))


class SpeakerInput:
    """A small FIFO of one speaker's decoded audio, re-chunked to 20 ms frames.

    Why a FIFO and a priming depth: packets arrive with jitter, the mixer ticks on its own clock.
    Two frames (40 ms) of cushion absorbs ordinary jitter; beyond ``max_frames`` the oldest are
    dropped so one speaker's backlog never adds latency for everyone.
    """

    def __init__(
        self, prime_frames: int = 2, max_frames: int = 8, standing_limit_ticks: int = 50
    ) -> None:
        self._frames: deque[Pcm] = deque()
        self._partial: Pcm = np.zeros(0, dtype=np.int16)
        self._prime_frames = prime_frames
        self._max_frames = max_frames
        self._standing_limit = standing_limit_ticks
        self._standing = 0
        self._primed = False
        self.underruns = 0
        self.dropped = 0

    def push(self, pcm: Pcm) -> None:
        data = np.concatenate((self._partial, pcm)) if self._partial.size else pcm
        whole = data.size // FRAME_SAMPLES * FRAME_SAMPLES
        for start in range(0, whole, FRAME_SAMPLES):
            self._frames.append(data[start : start + FRAME_SAMPLES])
        self._partial = data[whole:].copy()
        while len(self._frames) > self._max_frames:
            self._frames.popleft()
            self.dropped += 1

    def pop(self) -> Pcm | None:
        if not self._primed:
            if len(self._frames) < self._prime_frames:
                return None
            self._primed = True
        if not self._frames:
            self._primed = False
            self.underruns += 1
            return None
        # A queue that never drains below the cushion is pure latency (after a stall, frames
        # that arrived late are all still here): after a second of it, cut back to the cushion.
        if len(self._frames) > self._prime_frames:
            self._standing += 1
            if self._standing >= self._standing_limit:
                while len(self._frames) > self._prime_frames:
                    self._frames.popleft()
                    self.dropped += 1
                self._standing = 0
        else:
            self._standing = 0
        return self._frames.popleft()


@dataclass
class Mix:
    """One tick's output."""

    program: Pcm
    #: Speakers whose audio is in the program get their own mix without themselves.
    minus: dict[str, Pcm]
    levels: dict[str, float] = field(default_factory=dict)
    #: Each unmuted speaker's frame that had sound in this tick (what captions hear).
    voices: dict[str, Pcm] = field(default_factory=dict)

    def for_speaker(self, key: str) -> Pcm:
        return self.minus.get(key, self.program)


class Mixer:
    def __init__(self) -> None:
        self.inputs: dict[str, SpeakerInput] = {}
        self.muted: set[str] = set()
        #: Recent talkers and the ticks left before they share the program again.
        self._held: dict[str, int] = {}

    def add(self, key: str) -> SpeakerInput:
        self.inputs[key] = SpeakerInput()
        return self.inputs[key]

    def remove(self, key: str) -> None:
        self.inputs.pop(key, None)
        self.muted.discard(key)
        self._held.pop(key, None)

    def tick(self) -> Mix:
        """Take one frame from every speaker and mix; muted and silent speakers are left out."""
        contributions: dict[str, Pcm] = {}
        levels: dict[str, float] = {}
        for key, source in self.inputs.items():
            frame = source.pop()
            if frame is None or key in self.muted:
                continue
            level = level_dbfs(frame)
            levels[key] = level
            if level > SILENCE_DBFS:
                contributions[key] = frame
        held = self._hold(contributions)
        if not contributions:
            return Mix(program=SILENT_FRAME, minus=dict.fromkeys(held, SILENT_FRAME), levels=levels)
        total = np.zeros(FRAME_SAMPLES, dtype=np.int32)
        for frame in contributions.values():
            total += frame
        program = np.clip(total, -32768, 32767).astype(np.int16)
        minus = {
            key: np.clip(total - frame, -32768, 32767).astype(np.int16)
            for key, frame in contributions.items()
        }
        # A held talker with nothing in this tick hears the program, on their own stream.
        minus.update((key, program) for key in held)
        return Mix(program=program, minus=minus, levels=levels, voices=contributions)

    def _hold(self, talkers: dict[str, Pcm]) -> list[str]:
        """Renew the hold of this tick's talkers; the others held still, counting down."""
        held = []
        for key in list(self._held):
            if key in talkers:
                continue
            if self._held[key] <= 1:
                del self._held[key]
            else:
                self._held[key] -= 1
                held.append(key)
        for key in talkers:
            self._held[key] = HOLD_TICKS
        return held
