"""CMAF fragmented MP4 for one audio track (AAC-LC or Opus), written and read byte by byte.

Why not PyAV's ``mp4`` muxer: LL-HLS needs each part to be exactly one ``moof`` + ``mdat`` holding
exactly the AAC frames the packager chose, with decode times we control, cut at the moment we
decide. A muxer decides fragment boundaries by its own clock (``frag_duration``) and buffers
internally, so a part could straddle two of its fragments. Writing the handful of boxes
ourselves (ISO/IEC 14496-12, profile per ISO/IEC 23000-19 CMAF) is ~100 lines and exact.

Layout written here::

    init      = ftyp  moov(mvhd trak(tkhd mdia(mdhd hdlr minf(smhd dinf stbl))) mvex(trex))
    fragment  = moof(mfhd traf(tfhd tfdt trun))  mdat

AAC and Opus share that one init-segment writer (``_init``); what differs is the sample entry
(``mp4a`` + ``esds``, or ``Opus`` + ``dOps``), the frame duration (1024 or 960 ticks at 48 kHz)
that ``trex`` announces, the ``ftyp`` brands, and Opus's pre-roll sample group. Fragments are the
same for both (``fragment`` takes the frame duration). The Opus side follows "Encapsulation of
Opus in ISO Base Media File Format" (opus-codec.org, v1.0.0), with two deliberate departures
that ``opus_init_segment`` explains: no edit list, and the ``roll`` group declared once in the
init segment rather than in every fragment.

The reader half (``iter_boxes``, ``complete_prefix_length``, ``read_timescale``,
``read_fragment``, ``sample_entry``, ``read_opus_config``) is what a recording needs to find its
parts again, and what the tests use to check the writer.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from typing import NamedTuple

Bytes = bytes | bytearray | memoryview

TRACK_ID = 1

AAC_FRAME_DURATION = 1024
"""Ticks (samples) per AAC-LC frame; the track timescale is the sample rate."""
OPUS_FRAME_DURATION = 960
"""Ticks per 20 ms Opus frame: Opus tracks always count time at 48 kHz."""
OPUS_SAMPLE_RATE = 48000
OPUS_PREROLL_SAMPLES = 3840
"""The 80 ms an Opus decoder needs after a random access to converge (the Opus mapping §4.3.6.2)."""

# tfhd flags (ISO/IEC 14496-12 §8.8.7)
_TFHD_DEFAULT_SAMPLE_DURATION = 0x000008
_TFHD_DEFAULT_SAMPLE_FLAGS = 0x000020
_TFHD_DEFAULT_BASE_IS_MOOF = 0x020000
# trun flags (§8.8.8)
_TRUN_DATA_OFFSET = 0x000001
_TRUN_FIRST_SAMPLE_FLAGS = 0x000004
_TRUN_SAMPLE_DURATION = 0x000100
_TRUN_SAMPLE_SIZE = 0x000200
_TRUN_SAMPLE_FLAGS = 0x000400
_TRUN_SAMPLE_CTS = 0x000800

# sample_depends_on = 2 ("does not depend on others"), not a non-sync sample: every AAC frame
# can start decoding, which is what lets a player join at any part.
_SAMPLE_FLAGS_SYNC = 0x02000000

_UNITY_MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
_LANGUAGE_UND = ((ord("u") - 0x60) << 10) | ((ord("n") - 0x60) << 5) | (ord("d") - 0x60)


# --- writing ---------------------------------------------------------------------------------


def _box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *payload)


def _descriptor(tag: int, payload: bytes) -> bytes:
    """An MPEG-4 descriptor (ISO/IEC 14496-1 §8.3.3): its size in 7-bit groups, high bit = more."""
    size = len(payload)
    groups = [size & 0x7F]
    size >>= 7
    while size:
        groups.append(0x80 | (size & 0x7F))
        size >>= 7
    return bytes([tag, *reversed(groups)]) + payload


def _esds(audio_specific_config: bytes, channels: int) -> bytes:
    """The elementary stream descriptor carrying the AudioSpecificConfig (ISO/IEC 14496-14 §5.6)."""
    decoder_specific_info = _descriptor(0x05, audio_specific_config)
    decoder_config = _descriptor(
        0x04,
        struct.pack(
            ">BBBHII",
            0x40,  # objectTypeIndication: MPEG-4 Audio
            (0x05 << 2) | 0x01,  # streamType audio, upStream 0, reserved 1
            0,  # bufferSizeDB, high byte
            768 * channels,  # bufferSizeDB: 6144 bits per channel, the AAC decoder buffer
            0,  # maxBitrate: unknown
            0,  # avgBitrate: 0 means variable
        )
        + decoder_specific_info,
    )
    sl_config = _descriptor(0x06, b"\x02")  # predefined: reserved for MP4 files
    es = _descriptor(0x03, struct.pack(">HB", TRACK_ID, 0) + decoder_config + sl_config)
    return _full_box(b"esds", 0, 0, es)


def _audio_sample_entry(kind: bytes, sample_rate: int, channels: int, *children: bytes) -> bytes:
    """An AudioSampleEntry (ISO/IEC 14496-12 §12.2.3) of type ``kind`` with its child boxes."""
    if not 0 < sample_rate < 1 << 16:
        # The sample entry stores the rate as 16.16 fixed point.
        raise ValueError(f"sample rate {sample_rate} does not fit an audio sample entry")
    return _box(
        kind,
        bytes(6),  # reserved
        struct.pack(">H", 1),  # data_reference_index
        bytes(8),  # reserved (version, revision, vendor)
        struct.pack(">HHHHI", channels, 16, 0, 0, sample_rate << 16),
        *children,
    )


def _mp4a(audio_specific_config: bytes, sample_rate: int, channels: int) -> bytes:
    return _audio_sample_entry(
        b"mp4a", sample_rate, channels, _esds(audio_specific_config, channels)
    )


def _dops(pre_skip: int, input_sample_rate: int, channels: int, output_gain: int) -> bytes:
    """The OpusSpecificBox: the Ogg ``OpusHead`` fields (RFC 7845 §5.1) without its magic and,
    unlike it, big-endian. Channel mapping family 0 (mono or stereo, no mapping table)."""
    return _box(
        b"dOps",
        struct.pack(">BBHIhB", 0, channels, pre_skip, input_sample_rate, output_gain, 0),
    )


def _init(
    compatible_brands: Sequence[bytes],
    sample_entry: bytes,
    timescale: int,
    frame_duration: int,
    sample_groups: bytes = b"",
) -> bytes:
    """The CMAF header both codecs share: ``ftyp`` + ``moov`` with empty sample tables.

    The track timescale is the sample rate so that every frame lasts exactly ``frame_duration``
    ticks and decode times never round. Durations are zero because the movie is fragmented: its
    media lives in the fragments that follow (announced by ``mvex``).
    """
    # CMAF (ISO/IEC 23000-19 §7.2): the header carries the 'cmfc' brand; 'iso6' says the file
    # uses ISO BMFF features up to edition 6, which includes the tfdt v1 of our fragments.
    ftyp = _box(b"ftyp", b"iso6", struct.pack(">I", 0), *compatible_brands)
    mvhd = _full_box(
        b"mvhd",
        0,
        0,
        struct.pack(">IIII", 0, 0, timescale, 0),  # creation, modification, timescale, duration
        struct.pack(">IH", 0x00010000, 0x0100),  # rate 1.0, volume 1.0
        bytes(10),
        _UNITY_MATRIX,
        bytes(24),  # pre_defined
        struct.pack(">I", TRACK_ID + 1),  # next_track_ID
    )
    tkhd = _full_box(
        b"tkhd",
        0,
        0x000003,  # enabled, in movie
        struct.pack(">IIIII", 0, 0, TRACK_ID, 0, 0),  # creation, modification, id, -, duration
        bytes(8),
        struct.pack(">hhhH", 0, 0, 0x0100, 0),  # layer, alternate_group, volume 1.0, reserved
        _UNITY_MATRIX,
        struct.pack(">II", 0, 0),  # width, height: none for audio
    )
    mdhd = _full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, 0, _LANGUAGE_UND, 0))
    hdlr = _full_box(b"hdlr", 0, 0, struct.pack(">I4s", 0, b"soun"), bytes(12), b"SoundHandler\0")
    smhd = _full_box(b"smhd", 0, 0, struct.pack(">hH", 0, 0))
    dinf = _box(
        b"dinf",
        _full_box(b"dref", 0, 0, struct.pack(">I", 1), _full_box(b"url ", 0, 0x000001)),
    )
    stbl = _box(
        b"stbl",
        _full_box(b"stsd", 0, 0, struct.pack(">I", 1), sample_entry),
        _full_box(b"stts", 0, 0, struct.pack(">I", 0)),
        _full_box(b"stsc", 0, 0, struct.pack(">I", 0)),
        _full_box(b"stsz", 0, 0, struct.pack(">II", 0, 0)),
        _full_box(b"stco", 0, 0, struct.pack(">I", 0)),
        sample_groups,
    )
    trak = _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, _box(b"minf", smhd, dinf, stbl)))
    trex = _full_box(
        b"trex", 0, 0, struct.pack(">IIIII", TRACK_ID, 1, frame_duration, 0, _SAMPLE_FLAGS_SYNC)
    )
    return ftyp + _box(b"moov", mvhd, trak, _box(b"mvex", trex))


def init_segment(
    audio_specific_config: bytes, sample_rate: int = 48000, channels: int = 1
) -> bytes:
    """The CMAF header (``init.mp4``) of an AAC-LC track: 1024-tick frames, ``mp4a`` + ``esds``."""
    if not audio_specific_config:
        raise ValueError("an AAC track needs its AudioSpecificConfig")
    return _init(
        (b"iso6", b"cmfc"),
        _mp4a(audio_specific_config, sample_rate, channels),
        sample_rate,
        AAC_FRAME_DURATION,
    )


def opus_init_segment(
    pre_skip: int, sample_rate: int = 48000, channels: int = 1, *, output_gain: int = 0
) -> bytes:
    """The CMAF header of an Opus track: 960-tick (20 ms) frames, ``Opus`` + ``dOps``.

    ``pre_skip`` is the encoder's priming in 48 kHz samples (``OpusHead``'s PreSkip);
    ``output_gain`` is Q7.8 dB. Opus in ISO BMFF runs on a 48 kHz clock whatever the input rate
    (the sample entry's samplerate "shall be 48000<<16"), and the mixer's rate is 48 kHz, so
    ``sample_rate`` is refused unless it is 48000; it is also written as InputSampleRate.

    Where this departs from the Opus mapping, and why:

    * No edit list (§4.4 asks for one with media_time = PreSkip). In a live fragmented stream
      its segment_duration must be 0, and all it does is shift every presentation time by
      -PreSkip: the stream would start at a negative time, which the DASH timeline would have
      to absorb, and the AAC rendition beside it has no such shift. Chromium, by our reading of
      its source, would apply the shift to PTS (mp4 ``TrackRunIterator``) on top of discarding
      PreSkip samples at every decoder start (``OpusAudioDecoder`` takes ``dOps``'s PreSkip as
      its codec delay), which already does the edit's job. Without an edit, track time 0 is
      the start of the priming packet, and decoders that honour PreSkip (FFmpeg, Chromium)
      start their output at the first input sample (the ``opus`` module docstring).
    * The ``roll`` sample group (§4.3.6.2: roll_distance -4 = 80 ms of pre-roll at 20 ms
      frames) is declared once, in ``stbl``, with ``sgpd`` version 2's
      default_sample_description_index (ISO/IEC 14496-12 §8.9.3), which covers every sample
      of the track, fragments included, instead of an ``sbgp`` in every fragment: that would be
      28 bytes per part, ~3 % of a 32 kb/s rendition at 0.24 s parts. Chromium and FFmpeg do
      not read it: both take Opus's 80 ms pre-roll from the codec, not from the file.
    """
    if sample_rate != OPUS_SAMPLE_RATE:
        raise ValueError(f"Opus in ISO BMFF runs at {OPUS_SAMPLE_RATE} Hz, not {sample_rate}")
    if channels not in (1, 2):
        raise ValueError("channel mapping family 0 carries one or two channels")
    if not 0 <= pre_skip < 1 << 16 or not -(1 << 15) <= output_gain < 1 << 15:
        raise ValueError(f"pre-skip {pre_skip} or gain {output_gain} does not fit 16 bits")
    roll = _full_box(
        b"sgpd",
        2,
        0,
        # grouping_type, default_sample_description_index, entry_count, AudioRollRecoveryEntry
        struct.pack(">4sIIh", b"roll", 1, 1, -(OPUS_PREROLL_SAMPLES // OPUS_FRAME_DURATION)),
    )
    return _init(
        # 'Opus' declares conformance to the Opus mapping (its §4.1); 'iso6' covers the roll
        # groups it needs. Chromium's MSE looks at none of the brands, only at the sample entry.
        (b"iso6", b"cmfc", b"Opus"),
        _audio_sample_entry(
            b"Opus", sample_rate, channels, _dops(pre_skip, sample_rate, channels, output_gain)
        ),
        sample_rate,
        OPUS_FRAME_DURATION,
        roll,
    )


def fragment(
    sequence_number: int,
    base_media_decode_time: int,
    frames: Sequence[bytes],
    frame_duration: int = 1024,
) -> bytes:
    """One CMAF chunk (``moof`` + ``mdat``) holding ``frames`` back to back: one LL-HLS part.

    ``default-base-is-moof`` makes the trun's data offset relative to this moof, so the bytes are
    self-contained: the same fragment is valid served alone as a part, concatenated into a
    segment, or appended to a recording file. ``tfdt`` is version 1 (64 bits) because a 32-bit
    decode time at 48 kHz wraps after 24.8 hours.
    """
    if not frames:
        raise ValueError("a fragment needs at least one frame")
    if sequence_number < 1 or base_media_decode_time < 0:
        raise ValueError("sequence numbers start at 1 and decode times are never negative")
    mfhd = _full_box(b"mfhd", 0, 0, struct.pack(">I", sequence_number))
    tfhd = _full_box(
        b"tfhd",
        0,
        _TFHD_DEFAULT_BASE_IS_MOOF | _TFHD_DEFAULT_SAMPLE_DURATION | _TFHD_DEFAULT_SAMPLE_FLAGS,
        struct.pack(">III", TRACK_ID, frame_duration, _SAMPLE_FLAGS_SYNC),
    )
    tfdt = _full_box(b"tfdt", 1, 0, struct.pack(">Q", base_media_decode_time))
    sizes = struct.pack(f">{len(frames)}I", *(len(f) for f in frames))

    def moof(data_offset: int) -> bytes:
        trun = _full_box(
            b"trun",
            0,
            _TRUN_DATA_OFFSET | _TRUN_SAMPLE_SIZE,
            struct.pack(">Ii", len(frames), data_offset),
            sizes,
        )
        return _box(b"moof", mfhd, _box(b"traf", tfhd, tfdt, trun))

    # The data offset points past the moof and the mdat header; the moof's size does not depend
    # on the offset's value, so measure once and write again.
    head = moof(len(moof(0)) + 8)
    return head + _box(b"mdat", *frames)


# --- reading ---------------------------------------------------------------------------------


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
            if flags & _TFHD_DEFAULT_SAMPLE_DURATION:
                (sample_duration,) = struct.unpack_from(">I", data, pos)
        elif box.type == "tfdt":
            fmt = ">Q" if version == 1 else ">I"
            (decode_time,) = struct.unpack_from(fmt, data, body)
        elif box.type == "trun":
            (samples,) = struct.unpack_from(">I", data, body)
            pos = body + 4
            pos += 4 if flags & _TRUN_DATA_OFFSET else 0
            pos += 4 if flags & _TRUN_FIRST_SAMPLE_FLAGS else 0
            if flags & _TRUN_SAMPLE_DURATION:
                stride = 4 * sum(
                    1
                    for bit in (
                        _TRUN_SAMPLE_DURATION,
                        _TRUN_SAMPLE_SIZE,
                        _TRUN_SAMPLE_FLAGS,
                        _TRUN_SAMPLE_CTS,
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
