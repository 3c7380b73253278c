"""Speaker bots for the benchmarks: one that times what it hears, and one that can fall silent.

Both are the product's own ``SpeakerBot`` (WHIP + aiortc, the path a browser takes); only what
they send or how they read differs.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from majlis.bots.sources import PacedSource, ToneSource
from majlis.bots.speaker import SpeakerBot
from majlis.media.mixer import FRAME_SAMPLES
from majlis.media.tracks import to_mono
from medialib.beeps import OnsetDetector


@dataclass
class TimingSpeakerBot(SpeakerBot):
    """A speaker that notes the wall time each received frame arrives, to find beep onsets.

    The time is taken right after ``recv()`` returns the decoded frame, i.e. after aiortc's
    jitter buffer and Opus decoder: what a WebRTC client would hand to its speaker.
    """

    detector: OnsetDetector = field(default_factory=OnsetDetector)

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                at = time.time()
                self.frames_received += 1
                self.detector.feed(to_mono(frame), at)  # type: ignore[arg-type]


class SilenceSource(PacedSource):
    """Digital silence, paced in real time: a speaker on stage who is not talking."""

    def next_pcm(self, index: int) -> npt.NDArray[np.int16]:
        return np.zeros(FRAME_SAMPLES, dtype=np.int16)


class SwitchableSource(ToneSource):
    """A tone that can be switched off and on while connected, to change scenarios in place.

    Switching rather than reconnecting keeps every WebRTC session (and its cost) the same
    across the "one talking" and "all talking" scenarios: only the audio differs.
    """

    def __init__(self, frequency_hz: float, talking: bool, amplitude: float = 0.1) -> None:
        super().__init__(frequency_hz, amplitude)
        self.talking = talking

    def next_pcm(self, index: int) -> npt.NDArray[np.int16]:
        if not self.talking:
            return np.zeros(FRAME_SAMPLES, dtype=np.int16)
        return super().next_pcm(index)
