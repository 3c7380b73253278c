"""Recording a Space: every part, appended to one fragmented .m4a that is always playable.

The file is the init segment followed by every LL-HLS part in order. Because each part is a
self-contained CMAF fragment (``moof`` + ``mdat`` with continuous decode times), the file is a
valid fragmented MP4 after every append: no index to write at the end, nothing to finalize. A
killed process leaves a file that plays up to its last whole part; ``recover`` cuts off a
half-written last part; ``RecordingIndex`` finds the parts again to build the replay playlist
(``hls.vod``) as byte ranges of this same file.

Durability: each part is handed to the kernel as soon as it arrives (a killed *process* loses
nothing written), and ``fsync`` runs at most once per ``fsync_interval_s`` (a crashed *machine*
loses at most that much). Syncing every part would cost four disk flushes a second per Space.
"""

from __future__ import annotations

import mmap
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

from majlis.media.hls import fmp4
from majlis.media.hls.vod import SegmentRange


class PartRange(NamedTuple):
    """One part (``moof`` + ``mdat``) in a recording file."""

    offset: int
    length: int
    duration: float


class Recorder:
    """Appends parts to a new recording file (or, after a crash, to the old one: ``resume``);
    safe to kill at any moment.

    Use it from one thread at a time. The natural place is the encoder thread, which keeps disk
    writes and their occasional ``fsync`` off the event loop::

        recorder = Recorder(path)
        encoder = EncoderThread(factory, loop, stream.publish,
                                tee=lambda part, _: recorder.append(part))
        recorder.write_init(encoder.init)  # before the first submit()
    """

    def __init__(
        self,
        path: Path,
        init: bytes | None = None,
        *,
        fsync_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        _append: bool = False,
    ) -> None:
        """Creates ``path``, which must not exist: a recording is never overwritten.

        The init segment may be given now or later with ``write_init`` (the encoder thread's
        init is known only once the thread exists, and its ``tee`` needs this recorder).
        """
        self.path = path
        self._clock = clock
        self._fsync_interval = fsync_interval_s
        self._file = open(path, "ab" if _append else "xb", buffering=0)  # noqa: SIM115
        _sync_directory(path.parent)  # the new name itself must survive a crash
        self._last_sync = clock()
        self.bytes_written = path.stat().st_size if _append else 0
        self.parts_written = 0
        if init is not None:
            self.write_init(init)

    @classmethod
    def resume(
        cls,
        path: Path,
        *,
        fsync_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> tuple[Recorder, RecordingIndex]:
        """Continue an existing recording (a restart after a crash), after ``recover``-ing it.

        Returns the recorder and the index of what is already there. The packager feeding it
        must continue the file's timeline, or players would see time run backwards::

            recorder, index = Recorder.resume(path)
            Packager(on_part, first_sequence_number=index.next_sequence_number,
                     first_decode_time=index.next_decode_time)

        The downtime itself is not in the file: the replay plays straight across it. The
        encoder settings must be the ones the file was started with (same init segment).
        """
        recover(path)
        index = RecordingIndex.read(path)
        if not index.init_length:
            raise ValueError(f"{path} has no init segment to continue from")
        recorder = cls(path, fsync_interval_s=fsync_interval_s, clock=clock, _append=True)
        return recorder, index

    def write_init(self, init: bytes) -> None:
        """Write the init segment (once, first) and make it durable at once."""
        if self.bytes_written:
            raise RuntimeError("the init segment is written once, before any part")
        self._write(init)
        self._sync()

    def append(self, part: bytes) -> None:
        """Append one part; it reaches the kernel before this returns."""
        if not self.bytes_written:
            raise RuntimeError("write the init segment before any part")
        self._write(part)
        self.parts_written += 1
        if self._clock() - self._last_sync >= self._fsync_interval:
            self._sync()

    def close(self) -> None:
        """Sync and close; the file is complete as it is."""
        if not self._file.closed:
            self._sync()
            self._file.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _write(self, data: bytes) -> None:
        # Unbuffered file: write() may take fewer bytes than offered, so loop until done.
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            if written is None:  # only for non-blocking files, which this is not
                raise OSError("recording file refused a write")
            view = view[written:]
        self.bytes_written += len(data)

    def _sync(self) -> None:
        os.fsync(self._file.fileno())
        self._last_sync = self._clock()


PARTS_PER_SEGMENT = 8
"""Default grouping for replays: the live stream's 8 parts of 0.256 s, i.e. 2.048 s segments."""


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_IGNORABLE = {"free", "skip", "styp", "sidx", "prft", "emsg"}


class RecordingIndex:
    """Where the init segment and every whole part of a recording file lie."""

    def __init__(
        self,
        init_length: int,
        parts: list[PartRange],
        next_sequence_number: int = 1,
        next_decode_time: int = 0,
    ) -> None:
        self.init_length = init_length
        self.parts = parts
        # Where a packager appending to this file must continue (see ``Recorder.resume``).
        self.next_sequence_number = next_sequence_number
        self.next_decode_time = next_decode_time

    @property
    def complete_length(self) -> int:
        """Bytes up to the end of the last whole part (or of the init segment)."""
        return self.parts[-1].offset + self.parts[-1].length if self.parts else self.init_length

    @classmethod
    def read(cls, path: Path) -> RecordingIndex:
        """Index a recording, ignoring a torn tail (anything after the last whole part)."""
        with open(path, "rb") as file:
            if os.fstat(file.fileno()).st_size == 0:
                return cls(0, [])
            # Mapped, not read: only the box headers and moofs are touched, not the audio.
            with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                return cls._index(memoryview(mapped))

    @classmethod
    def _index(cls, data: memoryview) -> RecordingIndex:
        try:
            end = fmp4.complete_prefix_length(data)
            init_length = 0
            timescale = 0
            parts: list[PartRange] = []
            moof: fmp4.Box | None = None
            last: fmp4.FragmentInfo | None = None
            for box in fmp4.iter_boxes(data, 0, end):
                if box.type == "moov":
                    timescale = fmp4.read_timescale(data)
                    init_length = box.offset + box.size
                elif box.type == "moof" and timescale:
                    moof = box
                elif box.type == "mdat" and moof is not None:
                    try:
                        info = fmp4.read_fragment(data, moof)
                    except (ValueError, struct.error):
                        break  # a moof of the right size but garbled inside: damage
                    length = box.offset + box.size - moof.offset
                    parts.append(PartRange(moof.offset, length, info.duration / timescale))
                    moof = None
                    last = info
                elif box.type not in _IGNORABLE and box.type != "ftyp":
                    break  # not something we write: treat the rest as damage
            if last is None:
                return cls(init_length, parts)
            return cls(
                init_length,
                parts,
                last.sequence_number + 1,
                last.base_media_decode_time + last.duration,
            )
        finally:
            data.release()

    def segments(self, parts_per_segment: int = PARTS_PER_SEGMENT) -> list[SegmentRange]:
        """Group consecutive parts into segments, as the live stream did (the last may be short)."""
        grouped: list[SegmentRange] = []
        for start in range(0, len(self.parts), parts_per_segment):
            group = self.parts[start : start + parts_per_segment]
            offset = group[0].offset
            length = group[-1].offset + group[-1].length - offset
            grouped.append(SegmentRange(offset, length, sum(p.duration for p in group)))
        return grouped

    @staticmethod
    def scan(path: Path, parts_per_segment: int = PARTS_PER_SEGMENT) -> list[SegmentRange]:
        """The segments of a recording as (offset, length, duration) for ``vod_playlist``."""
        return RecordingIndex.read(path).segments(parts_per_segment)


def recover(path: Path) -> int:
    """Cut a torn tail (a part cut mid-write) off a recording; returns the new length.

    For a file nobody is writing any more, e.g. at startup after a crash, before serving it.
    """
    length = RecordingIndex.read(path).complete_length
    if path.stat().st_size > length:
        with open(path, "r+b") as file:
            file.truncate(length)
            os.fsync(file.fileno())
    return length
