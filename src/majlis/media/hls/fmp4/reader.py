"""Reading CMAF back: what a recording needs to find its parts again after a crash, and what
the tests use to check the writer."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple

from majlis.media.hls.fmp4.track import (
    TFHD_DEFAULT_SAMPLE_DURATION,
    TRUN_DATA_OFFSET,
    TRUN_FIRST_SAMPLE_FLAGS,
    TRUN_SAMPLE_CTS,
    TRUN_SAMPLE_DURATION,
    TRUN_SAMPLE_FLAGS,
    TRUN_SAMPLE_SIZE,
)

Bytes = bytes | bytearray | memoryview


class Box(NamedTuple):
    """Where one box lies in a buffer: its four-character type, offset and total size."""

    type: str
    offset: int
    size: int


def _header_size(data: Bytes, box: Box) -> int:
    return 16 if struct.unpack_from(">I", data, box.offset)[0] == 1 else 8


def iter_boxes(data: Bytes, start: int = 0, end: int | None = None) -> Iterator[Box]:
    """The whole boxes lying one after another in ``data[start:end]``.

    Stops quietly at the first box that is cut short or malformed instead of raising, because the
    main reader of untrusted bytes here is crash recovery, where a torn tail is the normal case.
    A size field of 0 means "to the end" (ISO/IEC 14496-12 §4.2) and is honoured.
    """
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield Box(kind.decode("latin-1"), pos, size)
        pos += size


def children(data: Bytes, box: Box) -> Iterator[Box]:
    """The boxes inside a container box."""
    return iter_boxes(data, box.offset + _header_size(data, box), box.offset + box.size)


def find_path(data: Bytes, *path: str, within: Box | None = None) -> Box | None:
    """The first box reached by following ``path`` (e.g. ``"moov", "trak", "mdia", "mdhd"``)."""
    boxes = iter_boxes(data) if within is None else children(data, within)
    for box in boxes:
        if box.type == path[0]:
            return box if len(path) == 1 else find_path(data, *path[1:], within=box)
    return None


def complete_prefix_length(data: Bytes) -> int:
    """Length of the longest prefix of ``data`` made only of whole top-level boxes.

    A box whose size field is 0 ("extends to the end of the file") is not counted as whole: our
    writer never emits one, and a file torn by a crash can end in zero-filled blocks, which read
    exactly like such a box.
    """
    length = 0
    for box in iter_boxes(data):
        if struct.unpack_from(">I", data, box.offset)[0] == 0:
            break
        length = box.offset + box.size
    return length


def read_timescale(init: Bytes) -> int:
    """The media timescale (ticks per second) of the track in an init segment."""
    mdhd = find_path(init, "moov", "trak", "mdia", "mdhd")
    if mdhd is None:
        raise ValueError("no moov/trak/mdia/mdhd box")
    body = mdhd.offset + 8
    version = init[body]
    (timescale,) = struct.unpack_from(">I", init, body + (20 if version == 1 else 12))
    return int(timescale)


def sample_entry(init: Bytes) -> Box:
    """The (first) sample entry of the track in an init segment: ``mp4a``, ``Opus``, ...

    Found by hand because ``stsd`` is a full box with an entry count before its children.
    """
    stsd = find_path(init, "moov", "trak", "mdia", "minf", "stbl", "stsd")
    if stsd is None:
        raise ValueError("no moov/trak/mdia/minf/stbl/stsd box")
    entry = next(iter_boxes(init, stsd.offset + 16, stsd.offset + stsd.size), None)
    if entry is None:
        raise ValueError("stsd without a sample entry")
    return entry


class OpusConfig(NamedTuple):
    """The fields of a ``dOps`` box (the Opus mapping §4.3.2), and the sample entry's own."""

    version: int
    output_channel_count: int
    pre_skip: int
    input_sample_rate: int
    output_gain: int
    channel_mapping_family: int
    entry_channel_count: int
    entry_sample_size: int
    entry_sample_rate: int


# An AudioSampleEntry's fields before its child boxes: 6 + 2 + 8 + 2 + 2 + 2 + 2 + 4 bytes.
_AUDIO_SAMPLE_ENTRY_FIELDS = 28


def read_opus_config(init: Bytes) -> OpusConfig:
    """The ``Opus`` sample entry and its ``dOps`` in an init segment (big-endian fields)."""
    entry = sample_entry(init)
    if entry.type != "Opus":
        raise ValueError(f"the sample entry is {entry.type!r}, not 'Opus'")
    fields = entry.offset + 8
    channels, sample_size, _, _, rate = struct.unpack_from(">HHHHI", init, fields + 16)
    start = fields + _AUDIO_SAMPLE_ENTRY_FIELDS
    dops = next(
        (box for box in iter_boxes(init, start, entry.offset + entry.size) if box.type == "dOps"),
        None,
    )
    if dops is None or dops.size < 8 + 11:
        raise ValueError("Opus sample entry without a whole dOps box")
    version, count, pre_skip, input_rate, gain, family = struct.unpack_from(
        ">BBHIhB", init, dops.offset + 8
    )
    return OpusConfig(
        version, count, pre_skip, input_rate, gain, family, channels, sample_size, rate >> 16
    )


class FragmentInfo(NamedTuple):
    """What a ``moof`` says about its fragment: order, start time, and length in ticks."""

    sequence_number: int
    base_media_decode_time: int
    sample_count: int
    duration: int


def read_fragment(data: Bytes, moof: Box, default_sample_duration: int = 1024) -> FragmentInfo:
    """Parse the ``mfhd``, ``tfhd``, ``tfdt`` and ``trun`` of one ``moof`` (first traf only)."""
    mfhd = find_path(data, "mfhd", within=moof)
    traf = find_path(data, "traf", within=moof)
    if mfhd is None or traf is None:
        raise ValueError("moof without mfhd or traf")
    (sequence_number,) = struct.unpack_from(">I", data, mfhd.offset + 12)
    sample_duration = default_sample_duration
    decode_time = 0
    count = 0
    total = 0
    for box in children(data, traf):
        (version_flags,) = struct.unpack_from(">I", data, box.offset + 8)
        version, flags = version_flags >> 24, version_flags & 0xFFFFFF
        body = box.offset + 12
        if box.type == "tfhd":
            pos = body + 4  # track_ID
            if flags & 0x000001:  # base-data-offset
                pos += 8
            if flags & 0x000002:  # sample-description-index
                pos += 4
            if flags & TFHD_DEFAULT_SAMPLE_DURATION:
                (sample_duration,) = struct.unpack_from(">I", data, pos)
        elif box.type == "tfdt":
            fmt = ">Q" if version == 1 else ">I"
            (decode_time,) = struct.unpack_from(fmt, data, body)
        elif box.type == "trun":
            (samples,) = struct.unpack_from(">I", data, body)
            pos = body + 4
            pos += 4 if flags & TRUN_DATA_OFFSET else 0
            pos += 4 if flags & TRUN_FIRST_SAMPLE_FLAGS else 0
            if flags & TRUN_SAMPLE_DURATION:
                stride = 4 * sum(
                    1
                    for bit in (
                        TRUN_SAMPLE_DURATION,
                        TRUN_SAMPLE_SIZE,
                        TRUN_SAMPLE_FLAGS,
                        TRUN_SAMPLE_CTS,
                    )
                    if flags & bit
                )
                total += sum(
                    struct.unpack_from(">I", data, pos + i * stride)[0] for i in range(samples)
                )
            else:
                total += samples * sample_duration
            count += samples
    return FragmentInfo(int(sequence_number), int(decode_time), count, total)
