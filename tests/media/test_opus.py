"""The Opus speech rendition: encoder, CMAF boxes, packager; decoded by FFmpeg and Chromium."""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from majlis.media.assets.clip import load_demo_clip
from majlis.media.hls import fmp4
from majlis.media.hls.opus import FRAME_SIZE, OpusEncoder, parse_opus_head
from majlis.media.hls.packager import Packager
from tests.media.tones import decode_mp4
from tests.support.audio import PRE_SKIP, RATE, lag_ms, peak_hz, rms_db
from tests.support.browser import CHROMIUM, HEADLESS_FLAGS
from tests.support.packaging import box_tree, fragment_info, package
from tests.support.services import unavailable


def tone(seconds: float, hz: float = 440.0, amplitude: float = 0.5) -> npt.NDArray[np.float32]:
    t = np.arange(round(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def tone_bursts(seconds: float) -> npt.NDArray[np.float32]:
    """440 Hz, on for 150 ms and off for 100 ms with 5 ms ramps: a pitch, a level, and edges
    that pin the time alignment down (a steady tone only does so modulo its period)."""
    n = round(seconds * RATE)
    gate = (np.arange(n) % (RATE // 4)) < round(0.15 * RATE)
    ramp = round(0.005 * RATE)
    envelope = np.convolve(gate.astype(np.float64), np.ones(ramp) / ramp, mode="same")
    return (tone(seconds) * envelope).astype(np.float32)


# --- the encoder -------------------------------------------------------------------------------


def test_the_pre_skip_comes_from_the_encoders_opus_head_before_any_audio() -> None:
    encoder = OpusEncoder()
    head = encoder.opus_head
    assert head[:8] == b"OpusHead"
    assert struct.unpack_from("<H", head, 10)[0] == encoder.pre_skip == PRE_SKIP  # little-endian
    assert parse_opus_head(head) == (1, 1, PRE_SKIP, RATE, 0, 0)
    assert encoder.latency_samples == PRE_SKIP
    assert encoder.frame_size == FRAME_SIZE == 960
    with pytest.raises(ValueError):
        parse_opus_head(b"OggS" + bytes(15))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 3000), min_size=1, max_size=12))
def test_any_chunking_gives_one_packet_per_960_samples_at_once(chunks: list[int]) -> None:
    encoder = OpusEncoder()
    fed = out = 0
    for size in chunks:
        out += len(encoder.encode(np.zeros(size, dtype=np.float32)))
        fed += size
        assert out == fed // FRAME_SIZE  # no frame of lookahead held back, unlike AAC's two
    out += len(encoder.flush())
    # The last frame zero-padded, then one packet draining the encoder's 312-sample look-ahead.
    assert out == (math.ceil(fed / FRAME_SIZE) + 1 if fed else 0)


def test_only_48_khz_is_accepted() -> None:
    with pytest.raises(ValueError):
        OpusEncoder(sample_rate=44100)


# --- the boxes ---------------------------------------------------------------------------------


def test_init_segment_boxes_carry_the_dops_fields_big_endian() -> None:
    init = OpusEncoder().init_segment()
    assert box_tree(init) == [
        "ftyp",
        "moov",
        [
            "mvhd",
            "trak",
            ["tkhd", "mdia", ["mdhd", "hdlr", "minf", ["smhd", "dinf", ["dref"], "stbl", [
                "stsd", "stts", "stsc", "stsz", "stco", "sgpd"]]]],
            "mvex",
            ["trex"],
        ],
    ]  # fmt: skip
    assert fmp4.complete_prefix_length(init) == len(init)
    ftyp = next(fmp4.iter_boxes(init))
    assert init[8:12] == b"iso6"
    assert [init[i : i + 4] for i in range(16, ftyp.size, 4)] == [b"iso6", b"cmfc", b"Opus"]
    assert fmp4.read_timescale(init) == RATE

    entry = fmp4.sample_entry(init)
    assert entry.type == "Opus"
    config = fmp4.read_opus_config(init)
    assert config == fmp4.OpusConfig(
        version=0,
        output_channel_count=1,
        pre_skip=PRE_SKIP,
        input_sample_rate=RATE,
        output_gain=0,
        channel_mapping_family=0,
        entry_channel_count=1,
        entry_sample_size=16,
        entry_sample_rate=RATE,
    )
    # The dOps body byte for byte: version 0, 1 channel, PreSkip 0x0138 and 48000 big-endian
    # (the OpusHead has them little-endian), gain 0, family 0, no mapping table.
    dops = init.index(b"dOps")
    assert init[dops - 4 : dops] == struct.pack(">I", 8 + 11)
    assert init[dops + 4 : dops + 15] == bytes.fromhex("00 01 0138 0000bb80 0000 00")

    # trex: every sample 960 ticks and a sync sample; the roll group: 4 samples of pre-roll.
    trex = fmp4.find_path(init, "moov", "mvex", "trex")
    assert trex is not None
    assert struct.unpack_from(">IIIII", init, trex.offset + 12) == (1, 1, 960, 0, 0x02000000)
    sgpd = fmp4.find_path(init, "moov", "trak", "mdia", "minf", "stbl", "sgpd")
    assert sgpd is not None
    assert struct.unpack_from(">I4sIIh", init, sgpd.offset + 8) == (2 << 24, b"roll", 1, 1, -4)


def test_the_aac_init_segment_reads_as_aac() -> None:
    init = fmp4.init_segment(bytes.fromhex("1188"))
    assert fmp4.sample_entry(init).type == "mp4a"
    with pytest.raises(ValueError, match="not 'Opus'"):
        fmp4.read_opus_config(init)


@pytest.mark.parametrize(
    "arguments", [{"sample_rate": 44100}, {"channels": 3}, {"pre_skip": 1 << 16}]
)
def test_opus_init_segment_refuses_what_it_cannot_describe(arguments: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        fmp4.opus_init_segment(**{"pre_skip": PRE_SKIP, **arguments})


# --- packaged and decoded ----------------------------------------------------------------------


@pytest.mark.parametrize(("frames_per_part", "chunk"), [(12, 960), (10, 1031)])
def test_opus_packager_parts_hold_exactly_the_chosen_frames_with_contiguous_times(
    frames_per_part: int, chunk: int
) -> None:
    pcm = tone(3.0)
    init, parts = package(pcm, OpusEncoder(), frames_per_part, chunk)
    infos = [fragment_info(data) for data, _ in parts]
    packets = math.ceil(pcm.size / FRAME_SIZE) + 1
    assert [i.sample_count for i in infos[:-1]] == [frames_per_part] * (len(infos) - 1)
    assert sum(i.sample_count for i in infos) == packets
    assert [i.sequence_number for i in infos] == list(range(1, len(parts) + 1))
    assert [i.base_media_decode_time for i in infos] == [
        n * frames_per_part * FRAME_SIZE for n in range(len(infos))
    ]
    assert all(i.duration == i.sample_count * FRAME_SIZE for i in infos)
    assert [d for _, d in parts[:-1]] == [pytest.approx(frames_per_part * 0.02)] * (len(parts) - 1)
    assert fmp4.read_opus_config(init).pre_skip == PRE_SKIP


def test_tone_through_opus_packager_decodes_to_440_hz_and_the_input_length() -> None:
    pcm = tone(3.0)
    init, parts = package(pcm, OpusEncoder())
    decoded, rate = decode_mp4(init + b"".join(data for data, _ in parts))
    assert rate == RATE
    packets = sum(fragment_info(data).sample_count for data, _ in parts)
    # FFmpeg honours dOps's PreSkip: the priming is gone and what is left starts at our first
    # sample; the tail is the last frame's zero padding and the drained look-ahead.
    assert decoded.size == packets * FRAME_SIZE - PRE_SKIP
    assert 0 <= decoded.size - pcm.size < 2 * FRAME_SIZE
    assert peak_hz(decoded) == pytest.approx(440, abs=1)
    middle = slice(RATE, 2 * RATE)
    assert np.corrcoef(decoded[middle], pcm[middle])[0, 1] > 0.95  # aligned, to the sample
    assert abs(rms_db(decoded[middle]) - rms_db(pcm[middle])) < 0.5


def _speech(seconds: float) -> npt.NDArray[np.float32]:
    return load_demo_clip()[: round(seconds * RATE)]


@pytest.mark.parametrize("source", [tone_bursts, _speech], ids=["tone-bursts", "speech"])
def test_opus_and_aac_decodes_of_the_same_pcm_are_the_same_audio(
    source: Callable[[float], npt.NDArray[np.float32]],
) -> None:
    """ "The same audio" from two codecs: the same level (RMS within 1 dB), the same time
    (envelopes aligned within 2 ms) and, for the tone, the same pitch. Waveforms differ."""
    pcm = source(4.0)
    aac_init, aac_parts = package(pcm, None)
    opus_init, opus_parts = package(pcm, OpusEncoder())
    aac, _ = decode_mp4(aac_init + b"".join(data for data, _ in aac_parts))
    opus, _ = decode_mp4(opus_init + b"".join(data for data, _ in opus_parts))
    middle = slice(RATE // 2, pcm.size - RATE // 2)
    assert abs(rms_db(opus[middle]) - rms_db(aac[middle])) < 1.0
    assert abs(rms_db(opus[middle]) - rms_db(pcm[middle])) < 1.0
    assert abs(lag_ms(aac[middle], opus[middle])) <= 2
    assert abs(lag_ms(pcm[middle], opus[middle])) <= 2
    if source is tone_bursts:
        assert peak_hz(opus[middle]) == pytest.approx(440, abs=1)
        assert peak_hz(aac[middle]) == pytest.approx(440, abs=1)


def test_packager_keeps_a_given_encoders_own_settings() -> None:
    with pytest.raises(ValueError):
        Packager(lambda *_: None, encoder=OpusEncoder(), bitrate=64000)
    with pytest.raises(ValueError):
        Packager(lambda *_: None, encoder=OpusEncoder(), sample_rate=44100)
    packager = Packager(lambda *_: None, 12, encoder=OpusEncoder(), sample_rate=RATE)
    assert packager.part_duration_s == pytest.approx(0.24)
    assert (packager.frame_size, packager.latency_samples) == (960, PRE_SKIP)
    assert Packager(lambda *_: None).part_duration_s == pytest.approx(0.256)  # AAC, as before


# --- in Chromium, through Media Source Extensions ----------------------------------------------

_MSE_PLAY = r"""
async ({b64, type, seconds}) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const audio = document.createElement("audio");
  document.body.append(audio);
  const source = new MediaSource();
  audio.src = URL.createObjectURL(source);
  await new Promise((resolve) => source.addEventListener("sourceopen", resolve, {once: true}));
  const buffer = source.addSourceBuffer(type);
  buffer.appendBuffer(bytes);
  await new Promise((resolve, reject) => {
    buffer.addEventListener("updateend", resolve, {once: true});
    buffer.addEventListener("error", () => reject(new Error("appendBuffer failed")), {once: true});
  });
  source.endOfStream();
  const start = buffer.buffered.start(0);
  audio.currentTime = start;
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 8192;
  context.createMediaElementSource(audio).connect(analyser);
  analyser.connect(context.destination);
  await audio.play();
  const bins = new Float32Array(analyser.frequencyBinCount);
  const peaks = [];
  while (audio.currentTime < start + seconds && !audio.error && !audio.ended) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    analyser.getFloatFrequencyData(bins);
    let best = 0;
    for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
    peaks.push(best * context.sampleRate / analyser.fftSize);
  }
  return {
    buffered: [start, buffer.buffered.end(0)], played: audio.currentTime - start,
    error: audio.error && audio.error.message, peaks,
  };
}
"""


def test_chromium_plays_opus_cmaf_through_media_source_extensions() -> None:
    if not CHROMIUM.exists():
        unavailable(f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright Python package is not installed (pip install playwright)")
    init, parts = package(tone(3.0), OpusEncoder())
    fragments = [data for data, _ in parts]
    mime = 'audio/mp4; codecs="opus"'

    def play(page: Any, media: bytes) -> dict[str, Any]:
        argument = {"b64": base64.b64encode(media).decode(), "type": mime, "seconds": 1.0}
        result: dict[str, Any] = page.evaluate(_MSE_PLAY, argument)
        return result

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=list(HEADLESS_FLAGS)
        )
        try:
            page = browser.new_page()
            page.set_content("<!doctype html><title>Opus in CMAF</title><body></body>")
            assert page.evaluate(f"MediaSource.isTypeSupported('{mime}')") is True
            from_start = play(page, init + b"".join(fragments))
            # A listener joining at the sixth part: the init segment, then parts 6, 7, ...
            page.set_content("<!doctype html><title>Opus in CMAF</title><body></body>")
            joined = play(page, init + b"".join(fragments[5:]))
        finally:
            browser.close()

    packets = sum(fragment_info(data).sample_count for data in fragments)
    for result, first in ((from_start, 0.0), (joined, 5 * 0.24)):
        assert result["error"] is None
        assert result["buffered"] == pytest.approx([first, packets * 0.02], abs=0.001)
        assert result["played"] >= 1.0
        # The analyser's bins are 44100 / 8192 = 5.4 Hz wide (or 5.9 Hz at 48 kHz).
        assert result["peaks"] and all(abs(hz - 440) < 6 for hz in result["peaks"][2:])
