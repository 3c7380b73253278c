"""The byte-level CMAF writer and reader: box layout, offsets, and torn-tail recovery."""

from __future__ import annotations

import io
import struct

import av
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from majlis.media.hls import fmp4
from majlis.media.hls.aac import AacEncoder
from tests.support.packaging import box_tree

ASC_48K_MONO = bytes.fromhex("1188")  # AAC-LC, 48 kHz, 1 channel


def test_init_segment_layout() -> None:
    init = fmp4.init_segment(ASC_48K_MONO)
    assert box_tree(init) == [
        "ftyp",
        "moov",
        [
            "mvhd",
            "trak",
            ["tkhd", "mdia", ["mdhd", "hdlr", "minf", ["smhd", "dinf", ["dref"], "stbl", [
                "stsd", "stts", "stsc", "stsz", "stco"]]]],
            "mvex",
            ["trex"],
        ],
    ]  # fmt: skip
    ftyp = next(fmp4.iter_boxes(init))
    assert init[8:12] == b"iso6"
    assert {init[i : i + 4] for i in range(16, ftyp.size, 4)} == {b"iso6", b"cmfc"}
    assert fmp4.read_timescale(init) == 48000
    hdlr = fmp4.find_path(init, "moov", "trak", "mdia", "hdlr")
    assert hdlr is not None and init[hdlr.offset + 16 : hdlr.offset + 20] == b"soun"
    assert ASC_48K_MONO in init  # inside esds
    assert fmp4.complete_prefix_length(init) == len(init)


def test_fragment_layout_and_data_offset() -> None:
    frames = [bytes([i]) * (100 + i) for i in range(12)]
    data = fmp4.fragment(7, 3 * 1024 * 12, frames)
    assert box_tree(data) == ["moof", ["mfhd", "traf", ["tfhd", "tfdt", "trun"]], "mdat"]
    moof, mdat = fmp4.iter_boxes(data)
    info = fmp4.read_fragment(data, moof)
    assert info == fmp4.FragmentInfo(7, 36864, 12, 12 * 1024)
    trun = fmp4.find_path(data, "traf", "trun", within=moof)
    assert trun is not None
    count, data_offset = struct.unpack_from(">Ii", data, trun.offset + 12)
    sizes = struct.unpack_from(f">{count}I", data, trun.offset + 20)
    # default-base-is-moof: the offset counts from the moof's first byte to the first sample.
    assert data_offset == moof.size + 8 == mdat.offset + 8
    assert list(sizes) == [len(f) for f in frames]
    assert data[data_offset:] == b"".join(frames)
    tfhd = fmp4.find_path(data, "traf", "tfhd", within=moof)
    assert tfhd is not None
    (flags,) = struct.unpack_from(">I", data, tfhd.offset + 8)
    assert flags & 0x020000  # default-base-is-moof
    tfdt = fmp4.find_path(data, "traf", "tfdt", within=moof)
    assert tfdt is not None and data[tfdt.offset + 8] == 1  # version 1: 64-bit decode time


def test_real_aac_in_our_boxes_decodes_with_pyav() -> None:
    encoder = AacEncoder()
    tone = np.sin(2 * np.pi * 1000 * np.arange(48000) / 48000).astype(np.float32) * 0.5
    frames = encoder.encode(tone) + encoder.flush()
    init = fmp4.init_segment(encoder.audio_specific_config)
    body = b"".join(
        fmp4.fragment(1 + n, n * 12 * 1024, frames[n * 12 : n * 12 + 12])
        for n in range(0, (len(frames) + 11) // 12)
    )
    with av.open(io.BytesIO(init + body), mode="r") as container:
        stream = container.streams.audio[0]
        assert (stream.codec_context.name, stream.sample_rate, stream.channels) == ("aac", 48000, 1)
        samples = sum(frame.samples for frame in container.decode(stream))
    assert samples == len(frames) * 1024 == 47 * 1024


def test_descriptor_sizes_past_127_bytes_use_the_expandable_form() -> None:
    long_asc = ASC_48K_MONO + bytes(200)
    init = fmp4.init_segment(long_asc)
    start = init.index(long_asc)
    assert init[start - 3 : start] == bytes([0x05, 0x81, 0x4A])  # tag 5, size 202 = 1*128 + 74
    assert fmp4.complete_prefix_length(init) == len(init)


def test_iter_boxes_handles_largesize_and_to_end_boxes() -> None:
    large = struct.pack(">I4sQ", 1, b"free", 20) + b"abcd"
    to_end = struct.pack(">I4s", 0, b"mdat") + b"xyz"
    boxes = list(fmp4.iter_boxes(large + to_end))
    assert boxes == [fmp4.Box("free", 0, 20), fmp4.Box("mdat", 20, 11)]
    # ...but a size-0 box never counts as whole for recovery: zero-filled tails look like one.
    assert fmp4.complete_prefix_length(large + to_end) == 20
    assert fmp4.complete_prefix_length(large + bytes(4096)) == 20


def _stream_bytes(sizes: list[list[int]]) -> tuple[bytes, list[int]]:
    """An init segment and one fragment per entry of ``sizes`` (frame sizes), and every offset
    at which a top-level box ends."""
    data = bytearray(fmp4.init_segment(ASC_48K_MONO))
    ftyp = next(fmp4.iter_boxes(data))
    boundaries = [0, ftyp.size, len(data)]
    decode_time = 0
    for n, part in enumerate(sizes):
        fragment = fmp4.fragment(n + 1, decode_time, [bytes(s) for s in part])
        moof = next(fmp4.iter_boxes(fragment))
        boundaries += [len(data) + moof.size, len(data) + len(fragment)]
        data += fragment
        decode_time += 1024 * len(part)
    return bytes(data), boundaries


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.integers(1, 400), min_size=1, max_size=12), min_size=1, max_size=5),
    st.data(),
)
def test_complete_prefix_length_is_the_last_box_boundary_before_a_cut(
    sizes: list[list[int]], data: st.DataObject
) -> None:
    whole, boundaries = _stream_bytes(sizes)
    assert fmp4.complete_prefix_length(whole) == len(whole)
    cut = data.draw(st.integers(0, len(whole)), label="cut")
    assert fmp4.complete_prefix_length(whole[:cut]) == max(b for b in boundaries if b <= cut)
    # Every fragment reads back with continuous sequence numbers and decode times.
    infos = [fmp4.read_fragment(whole, box) for box in fmp4.iter_boxes(whole) if box.type == "moof"]
    assert [i.sequence_number for i in infos] == list(range(1, len(sizes) + 1))
    starts = [i.base_media_decode_time for i in infos]
    assert starts == [sum(1024 * len(p) for p in sizes[:n]) for n in range(len(sizes))]
