"""The track each speaker receives: their mix-minus, paced by the mixer's clock.

Modelled on aiortc's own paced ``recv()`` tracks: the mixer pushes one frame per 20 ms tick and
``recv`` hands them to aiortc's sender, which encodes and packetizes. The queue is short and
drops the oldest frame, so a congested sender never builds latency.
"""

from __future__ import annotations

import asyncio
import fractions
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from majlis.media.mixer import FRAME_SAMPLES, SAMPLE_RATE, Pcm

TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)


def audio_frame(pcm: Pcm, pts: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = SAMPLE_RATE
    frame.pts = pts
    frame.time_base = TIME_BASE
    return frame


class MixMinusTrack(MediaStreamTrack):
    """What a speaker hears, paced by the mixer's clock.

    Given Opus packets (the shared ``stage_encoder``), aiortc only packetizes them; given PCM
    (``stage_encoding = "per-speaker"``), aiortc encodes it for this track alone.
    """

    kind = "audio"

    def __init__(self, max_queued: int = 5) -> None:
        super().__init__()
        self._queue: asyncio.Queue[bytes | Pcm] = asyncio.Queue(max_queued)
        self._pts = 0
        self.dropped = 0

    def offer(self, media: bytes | Pcm) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(media)

    async def recv(self) -> av.Packet[Any] | av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        media = await self._queue.get()
        pts = self._pts
        self._pts += FRAME_SAMPLES
        if not isinstance(media, bytes):
            return audio_frame(media, pts)
        packet = av.Packet(media)
        packet.pts = pts
        packet.time_base = TIME_BASE
        return packet


def to_mono(frame: av.AudioFrame) -> Pcm:
    """aiortc hands decoded Opus as packed s16 stereo; the mixer works in mono."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if frame.format.name != "s16" or channels not in (1, 2):
        raise ValueError(f"unexpected decoded audio {frame.format.name}/{channels}ch")
    if channels == 1:
        mono: Pcm = data.reshape(-1).astype("int16", copy=False)
        return mono
    stereo = data.reshape(-1, 2).astype("int32")
    mixed: Pcm = ((stereo[:, 0] + stereo[:, 1]) // 2).astype("int16")
    return mixed


__all__ = ["MediaStreamError", "MixMinusTrack", "audio_frame", "to_mono"]
