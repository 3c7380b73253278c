"""Writing CMAF for one audio track: the init segment (AAC or Opus) and fragments.

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
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from majlis.media.hls.fmp4.track import (
    AAC_FRAME_DURATION,
    OPUS_FRAME_DURATION,
    OPUS_PREROLL_SAMPLES,
    OPUS_SAMPLE_RATE,
    SAMPLE_FLAGS_SYNC,
    TFHD_DEFAULT_BASE_IS_MOOF,
    TFHD_DEFAULT_SAMPLE_DURATION,
    TFHD_DEFAULT_SAMPLE_FLAGS,
    TRACK_ID,
    TRUN_DATA_OFFSET,
    TRUN_SAMPLE_SIZE,
)

_UNITY_MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
_LANGUAGE_UND = ((ord("u") - 0x60) << 10) | ((ord("n") - 0x60) << 5) | (ord("d") - 0x60)


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
        b"trex", 0, 0, struct.pack(">IIIII", TRACK_ID, 1, frame_duration, 0, SAMPLE_FLAGS_SYNC)
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
        TFHD_DEFAULT_BASE_IS_MOOF | TFHD_DEFAULT_SAMPLE_DURATION | TFHD_DEFAULT_SAMPLE_FLAGS,
        struct.pack(">III", TRACK_ID, frame_duration, SAMPLE_FLAGS_SYNC),
    )
    tfdt = _full_box(b"tfdt", 1, 0, struct.pack(">Q", base_media_decode_time))
    sizes = struct.pack(f">{len(frames)}I", *(len(f) for f in frames))

    def moof(data_offset: int) -> bytes:
        trun = _full_box(
            b"trun",
            0,
            TRUN_DATA_OFFSET | TRUN_SAMPLE_SIZE,
            struct.pack(">Ii", len(frames), data_offset),
            sizes,
        )
        return _box(b"moof", mfhd, _box(b"traf", tfhd, tfdt, trun))

    # The data offset points past the moof and the mdat header; the moof's size does not depend
    # on the offset's value, so measure once and write again.
    head = moof(len(moof(0)) + 8)
    return head + _box(b"mdat", *frames)
