"""Opus for the stage, encoded once per distinct mix instead of once per speaker.

Why: aiortc encodes every outbound track separately (about 2.35 % of a core each, FIELD-NOTES),
so 13 speakers cost 30 % of a core in Opus alone, although most of them, being silent, should
hear exactly the same thing: the program. Each tick this thread encodes the program once (for
every silent or muted speaker) and one mix-minus per speaker who is talking, with a persistent
encoder per mix so each stream stays continuous; the tracks then send the packets as they are
(aiortc only packetizes a ``Packet``, about 0.4 % of a core per track).

When a speaker starts or stops talking they move between the program stream and their own; the
decoder then sees packets from another encoder, which Opus conceals as a brief blip at a word
boundary, where nobody notices it.

Packets reach the event loop in one place: ``loop.call_soon_threadsafe(deliver, ...)``.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable

import av
import numpy as np
from av.audio.codeccontext import AudioCodecContext

from majlis.media.mixer import SAMPLE_RATE, Pcm
from majlis.media.threads import ThreadEnd
from majlis.media.tracks import TIME_BASE, audio_frame

log = logging.getLogger(__name__)

#: The job key of the program (everyone else's job key is their own speaker key).
PROGRAM = ""
#: Speech bitrate per stream; Opus voice at 32 kb/s is transparent for conversation.
BITRATE = 32_000

#: Marks a mix as "drop this speaker's encoder" (identity-compared, never encoded).
_FORGET: Pcm = np.zeros(0, dtype=np.int16)

Deliver = Callable[[dict[str, bytes], dict[str, str]], None]
Job = tuple[dict[str, Pcm], dict[str, str]]


def _encoder() -> AudioCodecContext:
    codec = av.CodecContext.create("libopus", "w")
    assert isinstance(codec, AudioCodecContext)
    codec.bit_rate = BITRATE
    codec.format = "s16"
    codec.layout = "mono"
    codec.sample_rate = SAMPLE_RATE
    codec.time_base = TIME_BASE
    codec.options = {"application": "voip"}
    codec.thread_count = 1
    return codec


class StageEncoder:
    """A thread that turns each tick's distinct mixes into Opus packets."""

    def __init__(self, loop: asyncio.AbstractEventLoop, deliver: Deliver, max_queued: int = 10):
        self._loop = loop
        self._deliver = deliver
        self._max_queued = max_queued
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._queued = 0
        self._encoders: dict[str, AudioCodecContext] = {}
        self._pts: dict[str, int] = {}
        self.dropped_ticks = 0
        self._end = ThreadEnd()
        self._thread = threading.Thread(target=self._run, name="majlis-stage-encoder", daemon=True)
        self._thread.start()

    def submit(self, mixes: dict[str, Pcm], listening: dict[str, str]) -> None:
        """``mixes`` by job key; ``listening`` maps each speaker to the job key they hear."""
        if self._queued >= self._max_queued:
            # Behind by 200 ms: speakers lose a frame (Opus conceals it) rather than lag.
            self.dropped_ticks += 1
            return
        self._queued += 1
        self._queue.put((mixes, listening))

    def forget(self, key: str) -> None:
        """A speaker left: their encoder goes at the next tick (only the thread touches it)."""
        self._queue.put(({key: _FORGET}, {}))
        self._queued += 1

    async def stopped(self, timeout_s: float = 5.0) -> None:
        """Finish the queued ticks and end the thread, awaited without an executor thread."""
        self._queue.put(None)
        if not await self._end.wait(timeout_s):
            log.warning("the stage encoder thread did not finish within %.0f s", timeout_s)

    def _run(self) -> None:
        try:
            self._work()
        finally:
            self._end.mark()

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            self._queued -= 1
            mixes, listening = job
            try:
                packets = self._encode(mixes)
            except Exception:
                log.exception("stage encoder: a tick failed")
                continue
            if packets or listening:
                try:
                    self._loop.call_soon_threadsafe(self._deliver, packets, listening)
                except RuntimeError:
                    return  # the loop closed under us: nobody is listening any more

    def _encode(self, mixes: dict[str, Pcm]) -> dict[str, bytes]:
        packets: dict[str, bytes] = {}
        for key, pcm in mixes.items():
            if pcm is _FORGET:
                self._encoders.pop(key, None)
                self._pts.pop(key, None)
                continue
            encoder = self._encoders.get(key)
            if encoder is None:
                encoder = self._encoders[key] = _encoder()
            pts = self._pts.get(key, 0)
            self._pts[key] = pts + pcm.size
            for packet in encoder.encode(audio_frame(pcm, pts)):
                packets[key] = bytes(packet)
        return packets
