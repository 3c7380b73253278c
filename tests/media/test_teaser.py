"""The pre-show's audio on its own: decoding untrusted uploads (formats, limits, garbage), the
default hold loop, the looping player and its fade, and re-basing recorded parts."""

from __future__ import annotations

import io
import random

import av
import numpy as np
import pytest

from majlis.media.hls import fmp4
from majlis.media.mixer import FRAME_SAMPLES, SAMPLE_RATE
from majlis.media.program import rebased
from majlis.media.teaser import (
    FADE_OUT_S,
    BadTeaser,
    TeaserPlayer,
    decode_teaser,
    default_hold,
)
from tests.media.tones import tone_strength
from tests.support.doors import tone_wav

#: (container, codec, sample rate, channels): what hosts upload from phones and editors.
FORMATS = {
    "ogg-opus": ("ogg", "libopus", 48_000, 2),
    "mp3": ("mp3", "libmp3lame", 44_100, 2),
    "m4a-aac": ("ipod", "aac", 44_100, 1),
    "flac": ("flac", "flac", 22_050, 1),
    "webm-opus": ("webm", "libopus", 48_000, 1),
    "adts-aac": ("adts", "aac", 48_000, 1),
}


def encode(
    container: str, codec: str, rate: int, channels: int, hz: float, seconds: float
) -> bytes:
    """A real file of a tone, written by FFmpeg through PyAV."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "stereo" if channels == 2 else "mono"
        t = np.arange(int(seconds * rate)) / rate
        pcm = (np.sin(2 * np.pi * hz * t) * 0.3 * 32767).astype(np.int16)
        frame_size = 960 if "opus" in codec else 1152 if "mp3" in codec else 1024
        for start in range(0, pcm.size, frame_size):
            chunk = np.repeat(pcm[start : start + frame_size], channels).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout=stream.layout.name)
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


@pytest.mark.parametrize("name", FORMATS)
def test_uploads_in_common_formats_decode_to_48k_mono(name: str) -> None:
    data = encode(*FORMATS[name], hz=660, seconds=2.0)
    decoded = decode_teaser(data, max_s=120, budget_s=10)
    assert decoded.pcm.dtype == np.int16 and decoded.pcm.ndim == 1
    assert 1900 < decoded.duration_ms < 2200
    assert tone_strength(decoded.pcm, SAMPLE_RATE, 660) > 30


def test_wav_at_another_rate_is_resampled() -> None:
    decoded = decode_teaser(tone_wav(500, 1.0, 22_050, 2), max_s=120, budget_s=10)
    assert abs(decoded.pcm.size - SAMPLE_RATE) < 200
    assert tone_strength(decoded.pcm, SAMPLE_RATE, 500) > 30


def test_limits_refuse_long_tiny_and_slow_uploads() -> None:
    with pytest.raises(BadTeaser, match="at most 3 seconds"):
        decode_teaser(tone_wav(500, 4.0), max_s=3, budget_s=10)
    # A compressed file that would inflate past the limit is stopped while decoding.
    with pytest.raises(BadTeaser, match="at most 3 seconds"):
        decode_teaser(encode("mp3", "libmp3lame", 44_100, 1, 300, 20.0), max_s=3, budget_s=10)
    with pytest.raises(BadTeaser, match="at least"):
        decode_teaser(tone_wav(500, 0.2), max_s=120, budget_s=10)
    with pytest.raises(BadTeaser, match="too long to decode"):
        decode_teaser(tone_wav(500, 2.0), max_s=120, budget_s=0)


def test_non_audio_and_garbage_are_refused_with_a_reason() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(2000)
    for data in (b"", b"hello" * 100, png, b"RIFF\x00\x00\x00\x00WAVEfmt "):
        with pytest.raises(BadTeaser):
            decode_teaser(data, max_s=120, budget_s=10)
    # Formats whose demuxers open other files or URLs never reach FFmpeg's prober.
    playlist = b"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://169.254.169.254/x.ts\n"
    for data in (playlist, b"ffconcat version 1.0\nfile /etc/passwd\n"):
        with pytest.raises(BadTeaser, match="not a recognised audio file"):
            decode_teaser(data, max_s=120, budget_s=10)


def test_mangled_files_are_refused_or_decoded_never_crash() -> None:
    """Truncated and bit-flipped real files: FFmpeg sees every kind of damage; the only
    outcomes are a decoded teaser or ``BadTeaser`` (a 422), never another exception."""
    rng = random.Random(5)
    originals = [encode(*spec, hz=440, seconds=1.0) for spec in FORMATS.values()]
    originals.append(tone_wav(440, 1.0))
    outcomes = {"decoded": 0, "refused": 0}
    for original in originals:
        for _ in range(25):
            data = bytearray(original)
            if rng.random() < 0.4:
                data = data[: rng.randrange(len(data))]
            for _ in range(rng.randrange(1, 40)):
                if data:
                    data[rng.randrange(len(data))] = rng.randrange(256)
            try:
                decode_teaser(bytes(data), max_s=120, budget_s=10)
                outcomes["decoded"] += 1
            except BadTeaser:
                outcomes["refused"] += 1
    assert outcomes["decoded"] > 0 and outcomes["refused"] > 0, outcomes


def test_default_hold_is_soft_and_loops_without_a_click() -> None:
    hold = default_hold()
    assert hold is default_hold()  # generated once
    assert hold.size == 8 * SAMPLE_RATE
    rms = float(np.sqrt(np.mean(hold.astype(np.float64) ** 2))) / 32768
    assert -36 < 20 * np.log10(rms) < -24
    steps = np.abs(np.diff(hold.astype(np.int32)))
    wrap = abs(int(hold[0]) - int(hold[-1]))
    assert wrap <= 2 * steps.max()  # the loop point is no bigger a step than any other


def test_the_player_loops_then_fades_out() -> None:
    pcm = np.arange(2500, dtype=np.int16)  # not a multiple of a frame: frames span the wrap
    player = TeaserPlayer(pcm)
    silence = np.zeros(FRAME_SAMPLES, np.int16)
    out = np.concatenate([player.over(silence) for _ in range(5)])
    assert np.array_equal(out, np.resize(pcm, out.size))
    player.fade_out()
    fade = [player.over(silence) for _ in range(round(FADE_OUT_S / 0.02))]
    assert player.finished
    peaks = [int(np.abs(frame.astype(np.int32)).max()) for frame in fade]
    assert peaks[-1] < 0.1 * np.abs(pcm.astype(np.int32)).max()
    # A teaser shorter than a frame still loops.
    tiny = TeaserPlayer(np.array([1, 2, 3], np.int16))
    assert list(tiny.over(silence)[:7]) == [1, 2, 3, 1, 2, 3, 1]


def test_rebased_parts_start_the_recording_at_one_and_zero() -> None:
    part = fmp4.fragment(41, 48_000 * 30, [b"\x01\x02", b"\x03"])
    again = rebased(part, 40, 48_000 * 30)
    info = fmp4.read_fragment(again, next(fmp4.iter_boxes(again)))
    assert (info.sequence_number, info.base_media_decode_time, info.sample_count) == (1, 0, 2)
    assert again[-3:] == part[-3:] and len(again) == len(part)
    with pytest.raises(ValueError):
        rebased(fmp4.init_segment(b"\x11\x90", 48_000, 1), 0, 0)
