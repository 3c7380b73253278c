"""From program PCM to LL-HLS parts, on one encoder thread per Space.

``Packager`` is synchronous and single-threaded: PCM in, ``on_part(fragment, duration)`` out, one
CMAF fragment per ``frames_per_part`` frames of its ``FrameEncoder``: AAC-LC by default (the
rendition every player plays, and the recording), or Opus (``opus.OpusEncoder``, the speech
rendition). ``EncoderThread`` runs it off the event loop
(a frame costs ~141 µs of CPU, which the loop must not pay 47 times a second per Space) and
hands every part to the loop in exactly one place, ``loop.call_soon_threadsafe`` in
``EncoderThread._deliver``, so that everything downstream (``LiveStream``, waiting requests)
lives on the loop and needs no locks. This is home-assistant's stream component's shape.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Protocol

import numpy as np
import numpy.typing as npt

from majlis.media.hls import aac, fmp4
from majlis.media.hls.aac import AacEncoder
from majlis.media.hls.framing import as_float32_mono
from majlis.media.threads import ThreadEnd

log = logging.getLogger(__name__)

OnPart = Callable[[bytes, float], None]
"""Receives one part: the fragment's bytes and its duration in seconds."""


class FrameEncoder(Protocol):
    """What a ``Packager`` needs from a codec: PCM in, fixed-length frames out, and the CMAF
    header those frames decode against. ``AacFrameEncoder`` and ``opus.OpusEncoder`` are two."""

    @property
    def sample_rate(self) -> int:
        """Input PCM rate, which is also the track timescale (ticks per second)."""
        ...

    @property
    def frame_size(self) -> int:
        """Samples per frame, and each frame's duration in ticks: 1024 (AAC) or 960 (Opus)."""
        ...

    @property
    def latency_samples(self) -> int:
        """How long after its last input sample a frame comes out of ``encode``."""
        ...

    def init_segment(self) -> bytes:
        """The init segment (``init.mp4``) for this encoder's frames, available before any."""
        ...

    def encode(self, pcm: npt.NDArray[np.generic]) -> list[bytes]:
        """Buffer mono PCM of any length; return the frames now complete, in order."""
        ...

    def flush(self) -> list[bytes]:
        """Encode what is buffered (zero-padded) and drain the codec; the encoder is done."""
        ...


class AacFrameEncoder:
    """``aac.AacEncoder`` as a ``FrameEncoder``: the AAC-LC rendition and the recording."""

    frame_size = aac.FRAME_SIZE
    latency_samples = aac.LATENCY_SAMPLES

    def __init__(self, sample_rate: int = 48000, bitrate: int = 64000) -> None:
        self.sample_rate = sample_rate
        self._encoder = AacEncoder(sample_rate=sample_rate, bitrate=bitrate)

    def init_segment(self) -> bytes:
        return fmp4.init_segment(self._encoder.audio_specific_config, self.sample_rate, 1)

    def encode(self, pcm: npt.NDArray[np.generic]) -> list[bytes]:
        return self._encoder.encode(pcm)

    def flush(self) -> list[bytes]:
        return self._encoder.flush()


class Packager:
    """Encodes PCM and cuts the frames into CMAF fragments of ``frames_per_part`` frames.

    Sequence numbers start at 1 and decode times at 0, and both run on without gaps across
    parts, so parts concatenate into valid segments and a recording is simply all parts in
    order. Dropped input (see ``EncoderThread``) shortens the timeline instead of leaving holes.
    """

    def __init__(
        self,
        on_part: OnPart,
        frames_per_part: int = 12,
        *,
        sample_rate: int | None = None,
        bitrate: int | None = None,
        first_sequence_number: int = 1,
        first_decode_time: int = 0,
        encoder: FrameEncoder | None = None,
    ) -> None:
        """``encoder`` defaults to AAC-LC at ``sample_rate`` (48 kHz) and ``bitrate``
        (64 kb/s); a given encoder brings its own, so ``bitrate`` is refused with it and
        ``sample_rate``, if given, must be the encoder's. ``first_sequence_number`` and
        ``first_decode_time`` (in ticks, i.e. samples) continue an earlier timeline, e.g. that
        of a recording being resumed (``Recorder.resume``)."""
        if frames_per_part < 1:
            raise ValueError("a part needs at least one frame")
        if encoder is None:
            encoder = AacFrameEncoder(
                48000 if sample_rate is None else sample_rate,
                64000 if bitrate is None else bitrate,
            )
        elif bitrate is not None:
            raise ValueError("the bitrate is the given encoder's own")
        elif sample_rate is not None and sample_rate != encoder.sample_rate:
            raise ValueError(f"the encoder runs at {encoder.sample_rate} Hz, not {sample_rate}")
        self._on_part = on_part
        self.frames_per_part = frames_per_part
        self.sample_rate = encoder.sample_rate
        self.frame_size = encoder.frame_size
        self.latency_samples = encoder.latency_samples
        self._encoder = encoder
        self._init = encoder.init_segment()
        self._frames: list[bytes] = []
        self._sequence_number = first_sequence_number
        self._decode_time = first_decode_time

    @property
    def init(self) -> bytes:
        """The init segment (``init.mp4``) every part of this packager decodes against."""
        return self._init

    @property
    def part_duration_s(self) -> float:
        """Duration of every part but possibly the last: the stream's PART-TARGET."""
        return self.frames_per_part * self.frame_size / self.sample_rate

    def push(self, pcm: npt.NDArray[np.generic]) -> None:
        """Encode mono PCM (float32 or int16, any length); emits each part as it fills."""
        self._frames.extend(self._encoder.encode(pcm))
        while len(self._frames) >= self.frames_per_part:
            self._emit(self.frames_per_part)

    def flush(self) -> None:
        """Drain the encoder and emit what is left, the last part possibly shorter."""
        self._frames.extend(self._encoder.flush())
        while self._frames:
            self._emit(min(len(self._frames), self.frames_per_part))

    def _emit(self, count: int) -> None:
        frames, self._frames = self._frames[:count], self._frames[count:]
        data = fmp4.fragment(self._sequence_number, self._decode_time, frames, self.frame_size)
        self._sequence_number += 1
        self._decode_time += count * self.frame_size
        self._on_part(data, count * self.frame_size / self.sample_rate)


_STOP = None


class EncoderThread:
    """Runs a ``Packager`` on its own thread; parts come back on the event loop.

    The thread starts at construction. ``submit`` is called from the loop and never blocks;
    ``stopped`` drains, flushes and awaits the thread's end. After it returns, every part has
    been handed to ``call_soon_threadsafe``, so anything the caller schedules on the loop
    afterwards (say ``loop.call_soon(stream.end)``) runs after the last ``sink`` call.
    """

    def __init__(
        self,
        packager_factory: Callable[[OnPart], Packager],
        loop: asyncio.AbstractEventLoop,
        sink: OnPart,
        *,
        max_backlog_s: float = 2.0,
        tee: OnPart | None = None,
        name: str = "majlis-encoder",
    ) -> None:
        """``tee``, if given, is called *on the encoder thread* with each part before it is
        delivered: the place for disk writes (``Recorder.append``) that must stay off the loop.
        """
        self._loop = loop
        self._sink = sink
        self._tee = tee
        # Built here, on the caller's thread, so ``init`` is available before the first part;
        # from now on only the worker thread touches it.
        self._packager = packager_factory(self._deliver)
        self._max_backlog = int(max_backlog_s * self._packager.sample_rate)
        self._queue: queue.SimpleQueue[npt.NDArray[np.float32] | None] = queue.SimpleQueue()
        # Each counter has exactly one writing thread, so reading the other's is race-free.
        self._submitted = 0  # samples; written by the loop thread
        self._consumed = 0  # samples; written by the worker thread
        self.dropped_chunks = 0
        self.dropped_samples = 0
        self.undelivered_parts = 0
        self._stopped = False
        self._end = ThreadEnd()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def init(self) -> bytes:
        """The init segment of the packager's stream."""
        return self._packager.init

    @property
    def part_duration_s(self) -> float:
        return self._packager.part_duration_s

    @property
    def backlog_s(self) -> float:
        """How far the encoder thread is behind the submitted audio, in seconds."""
        return (self._submitted - self._consumed) / self._packager.sample_rate

    def submit(self, pcm: npt.NDArray[np.generic]) -> bool:
        """Queue a chunk of mono PCM for encoding; False if it was dropped.

        The chunk is copied, so the caller may reuse its buffer. If the thread is more than
        ``max_backlog_s`` behind, the chunk is dropped and counted: a stalled encoder must cost
        listeners some audio, never the server its memory or the loop its responsiveness.
        """
        if self._stopped:
            return False
        samples = np.array(as_float32_mono(pcm), dtype=np.float32, copy=True)
        if self._submitted - self._consumed + samples.size > self._max_backlog:
            self.dropped_chunks += 1
            self.dropped_samples += samples.size
            return False
        self._submitted += samples.size
        self._queue.put(samples)
        return True

    async def stopped(self, timeout_s: float = 10.0) -> None:
        """Encode what is queued, flush the encoder, deliver the last parts and end the thread,
        awaited without tying up an executor thread while it drains. The last parts' deliveries
        are queued on the loop before the thread ends; let them run (``await asyncio.sleep(0)``)
        before acting on the end of the stream."""
        if not self._stopped:
            self._stopped = True
            self._queue.put(_STOP)
        if not await self._end.wait(timeout_s):
            log.warning("the encoder thread did not finish within %.0f s", timeout_s)

    def _run(self) -> None:
        try:
            while (chunk := self._queue.get()) is not _STOP:
                try:
                    self._packager.push(chunk)
                except Exception:
                    log.exception("encoding a PCM chunk failed; it is lost")
                finally:
                    self._consumed += chunk.size
            try:
                self._packager.flush()
            except Exception:
                log.exception("flushing the encoder failed")
        finally:
            self._end.mark()

    def _deliver(self, part: bytes, duration: float) -> None:
        """Runs on the encoder thread for each part."""
        if self._tee is not None:
            try:
                self._tee(part, duration)
            except Exception:
                log.exception("the encoder-thread tee failed for a part")
        try:
            # The one place where media crosses from the encoder thread to the event loop.
            self._loop.call_soon_threadsafe(self._sink, part, duration)
        except RuntimeError:
            # The loop is closed (shutdown raced the encoder): nobody is left to serve the part.
            self.undelivered_parts += 1
