"""Paced audio sources for bots: a tone, or a clip looped forever.

Paced like aiortc's MediaPlayer: ``recv`` sleeps until the frame's wall-clock due time, so a
bot sends exactly real time however fast the machine is.
"""

from __future__ import annotations

import asyncio
import time

import av
import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack

from majlis.media.mixer import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE
from majlis.media.tracks import audio_frame


class PacedSource(MediaStreamTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._frames = 0
        self._started: float | None = None

    def next_pcm(self, index: int) -> npt.NDArray[np.int16]:
        raise NotImplementedError

    async def recv(self) -> av.AudioFrame:
        if self._started is None:
            self._started = time.monotonic()
        due = self._started + self._frames * FRAME_S
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = audio_frame(self.next_pcm(self._frames), self._frames * FRAME_SAMPLES)
        self._frames += 1
        return frame


class ToneSource(PacedSource):
    """A sine tone, for tests that must tell speakers apart by frequency."""

    def __init__(self, frequency_hz: float, amplitude: float = 0.3) -> None:
        super().__init__()
        self.frequency_hz = frequency_hz
        self.amplitude = amplitude

    def next_pcm(self, index: int) -> npt.NDArray[np.int16]:
        t = (np.arange(FRAME_SAMPLES) + index * FRAME_SAMPLES) / SAMPLE_RATE
        wave = self.amplitude * np.sin(2 * np.pi * self.frequency_hz * t)
        return (wave * 32767).astype(np.int16)


class ClipSource(PacedSource):
    """A clip (float32 mono 48 kHz) played in a loop, for the demo's synthetic speaker."""

    def __init__(self, clip: npt.NDArray[np.float32], gap_s: float = 1.5) -> None:
        super().__init__()
        gap = np.zeros(int(gap_s * SAMPLE_RATE), dtype=np.float32)
        looped = np.concatenate((clip.astype(np.float32), gap))
        pad = (-looped.size) % FRAME_SAMPLES
        self._pcm = (np.clip(np.pad(looped, (0, pad)), -1, 1) * 32767).astype(np.int16)

    def next_pcm(self, index: int) -> npt.NDArray[np.int16]:
        frames = self._pcm.size // FRAME_SAMPLES
        start = (index % frames) * FRAME_SAMPLES
        return self._pcm[start : start + FRAME_SAMPLES]
