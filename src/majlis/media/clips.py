"""Cutting a clip out of a Space's recording, without re-encoding (issue 15).

Why from the recording file: it already holds every part of the program as AAC in CMAF
fragments (``recording.py``), live or ended, so a clip of "the last 30 s" and a clip of a range
of the replay are the same operation: pick the parts that cover the range, then copy their
audio packets into a new file. Nothing is decoded or encoded, so a clip costs a few hundred
kilobytes of reads and milliseconds of CPU, and sounds exactly like the Space did.

Why a plain (not fragmented) MP4 with ``moov`` first: a clip is a file people download, play in
a podcast app, paste into a chat: every player knows its duration at once and can seek in it.
The packets are trimmed to the requested range at AAC frame granularity (~21 ms), not at part
granularity (~250 ms).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from majlis.media.recording import PartRange, RecordingIndex

#: A clip is a moment, not a second recording: X Spaces' clips are 30 s; a chosen range of a
#: replay may be up to this long.
MAX_SECONDS = 60.0
DEFAULT_SECONDS = 30.0
#: Shorter than this is a click, not a clip.
MIN_SECONDS = 1.0


class NothingToClip(ValueError):
    """The recording does not hold the range asked for (too short yet, or past its end)."""


@dataclass(frozen=True, slots=True)
class ClipRange:
    """Where a clip lies in its Space's program, in seconds."""

    start: float
    duration: float


def recorded_seconds(recording: Path) -> float:
    """How much program the recording holds so far (whole parts only)."""
    return sum(part.duration for part in RecordingIndex.read(recording).parts)


def cut_last(recording: Path, seconds: float, out: Path) -> ClipRange:
    """The last ``seconds`` of a recording that may still be growing (a live Space)."""
    index = RecordingIndex.read(recording)
    total = sum(part.duration for part in index.parts)
    if total < MIN_SECONDS:
        raise NothingToClip("the Space has not been on air long enough to clip")
    return _cut(recording, index, max(0.0, total - seconds), total, out)


def cut_range(recording: Path, start: float, end: float, out: Path) -> ClipRange:
    """``start``..``end`` seconds into a finished recording."""
    index = RecordingIndex.read(recording)
    total = sum(part.duration for part in index.parts)
    if start >= total - MIN_SECONDS / 2:
        raise NothingToClip(f"the replay is {total:.1f} s long; the clip starts after its end")
    return _cut(recording, index, start, min(end, total), out)


def _cut(recording: Path, index: RecordingIndex, start: float, end: float, out: Path) -> ClipRange:
    chosen, first_at = _covering(index.parts, start, end)
    with open(recording, "rb") as file:
        data = bytearray(file.read(index.init_length))
        for part in chosen:
            file.seek(part.offset)
            data += file.read(part.length)
    partial = out.with_name(out.name + ".partial")
    try:
        first, last = _remux(bytes(data), start - first_at, end - first_at, partial)
        os.replace(partial, out)  # a clip file is whole or absent
    finally:
        partial.unlink(missing_ok=True)
    return ClipRange(start=first_at + first, duration=last - first)


def _covering(parts: list[PartRange], start: float, end: float) -> tuple[list[PartRange], float]:
    """The parts that overlap ``start``..``end``, and where the first of them begins."""
    chosen: list[PartRange] = []
    first_at = 0.0
    at = 0.0
    for part in parts:
        if at + part.duration > start and at < end:
            if not chosen:
                first_at = at
            chosen.append(part)
        at += part.duration
        if at >= end:
            break
    if not chosen:
        raise NothingToClip("the recording holds nothing in that range")
    return chosen, first_at


def _remux(fragments: bytes, start: float, end: float, out: Path) -> tuple[float, float]:
    """Copy the AAC packets of ``fragments`` (an init segment and parts) that start within
    ``start``..``end`` (seconds from the first part) into a plain MP4; returns the kept span."""
    first: float | None = None
    last = 0.0
    with av.open(io.BytesIO(fragments), mode="r") as source:
        stream = source.streams.audio[0]
        base = Fraction(stream.time_base or Fraction(1, 48000))
        with av.open(
            str(out), mode="w", format="mp4", options={"movflags": "+faststart"}
        ) as target:
            copy = target.add_stream_from_template(stream)
            origin: int | None = None
            for packet in source.demux(stream):
                if packet.pts is None or packet.dts is None:
                    continue  # the demuxer's end-of-stream flush packet
                if origin is None:
                    origin = packet.pts  # the first part's decode time: the clip's zero
                at = float((packet.pts - origin) * base)
                if at < start - 1e-6 or at >= end - 1e-6:
                    continue
                if first is None:
                    first = at
                    shift = packet.pts
                last = at + float((packet.duration or 0) * base)
                packet.pts -= shift
                packet.dts -= shift
                packet.stream = copy
                target.mux(packet)
    if first is None:
        raise NothingToClip("the recording holds no audio in that range")
    return first, last
