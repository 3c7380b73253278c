"""AAC encoding and packaging with real audio: a 440 Hz tone in, decodable CMAF parts out."""

from __future__ import annotations

import asyncio
import io
import math
import threading
import time

import av
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from majlis.media.hls import fmp4
from majlis.media.hls.aac import FRAME_SIZE, AacEncoder
from majlis.media.hls.packager import EncoderThread, OnPart, Packager
from majlis.media.hls.stream import LiveStream

RATE = 48000


def tone(seconds: float, hz: float = 440.0, amplitude: float = 0.5) -> npt.NDArray[np.float32]:
    t = np.arange(round(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def decode(data: bytes) -> npt.NDArray[np.float32]:
    with av.open(io.BytesIO(data), mode="r") as container:
        chunks = [frame.to_ndarray()[0] for frame in container.decode(audio=0)]
    return np.concatenate(chunks).astype(np.float32)


def peak_hz(samples: npt.NDArray[np.float32]) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.argmax(spectrum) * RATE / samples.size)


def test_audio_specific_config_exists_before_any_audio() -> None:
    encoder = AacEncoder()
    asc = encoder.audio_specific_config
    # AudioSpecificConfig: 5 bits object type (2 = AAC-LC), 4 bits rate index (3 = 48 kHz),
    # 4 bits channel configuration (1 = mono).
    bits = int.from_bytes(asc[:2], "big")
    assert (bits >> 11, (bits >> 7) & 0xF, (bits >> 3) & 0xF) == (2, 3, 1)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 3000), min_size=1, max_size=12))
def test_any_chunking_gives_one_frame_per_1024_samples(chunks: list[int]) -> None:
    encoder = AacEncoder()
    fed = 0
    out = 0
    for size in chunks:
        out += len(encoder.encode(np.zeros(size, dtype=np.float32)))
        fed += size
        # Steady: two frames of lookahead, never more, never a burst.
        assert out == max(0, fed // FRAME_SIZE - 2)
    out += len(encoder.flush())
    assert out == math.ceil(fed / FRAME_SIZE)


def test_int16_and_float_input_encode_alike() -> None:
    pcm = tone(0.5)
    as_int16 = (pcm * 32767).astype(np.int16)
    a, b = AacEncoder(), AacEncoder()
    frames_a = a.encode(pcm) + a.flush()
    frames_b = b.encode(as_int16) + b.flush()
    assert len(frames_a) == len(frames_b)
    assert AacEncoder().encode(pcm.reshape(1, -1)) is not None  # (1, n) is mono too


@pytest.mark.parametrize(
    ("pcm", "error"),
    [
        (np.zeros((2, 960), dtype=np.float32), ValueError),  # stereo
        (np.zeros(960, dtype=np.int32), TypeError),
    ],
)
def test_bad_pcm_is_refused(pcm: npt.NDArray[np.generic], error: type[Exception]) -> None:
    with pytest.raises(error):
        AacEncoder().encode(pcm)


def test_sine_through_packager_decodes_to_440_hz_and_the_input_duration() -> None:
    parts: list[tuple[bytes, float]] = []
    packager = Packager(lambda data, duration: parts.append((data, duration)))
    pcm = tone(3.0)
    for start in range(0, pcm.size, 960):  # the mixer's 20 ms ticks
        packager.push(pcm[start : start + 960])
    packager.flush()

    durations = [d for _, d in parts]
    assert all(d == pytest.approx(0.256) for d in durations[:-1])
    assert 0 < durations[-1] <= 0.256
    # Sequence numbers and decode times run on without gaps from part to part.
    infos = [
        fmp4.read_fragment(data, next(fmp4.iter_boxes(data)), default_sample_duration=0)
        for data, _ in parts
    ]
    assert [i.sequence_number for i in infos] == list(range(1, len(parts) + 1))
    assert [i.base_media_decode_time for i in infos] == [
        sum(i.duration for i in infos[:n]) for n in range(len(infos))
    ]
    assert sum(durations) == pytest.approx(sum(i.duration for i in infos) / RATE)

    decoded = decode(packager.init + b"".join(data for data, _ in parts))
    assert abs(decoded.size - pcm.size) < FRAME_SIZE
    assert abs(sum(durations) - pcm.size / RATE) < FRAME_SIZE / RATE
    assert peak_hz(decoded) == pytest.approx(440, abs=1)
    # Aligned with the input (no priming offset), past the 21 ms fade-in at the start.
    middle = slice(RATE, 2 * RATE)
    assert np.corrcoef(decoded[middle], pcm[middle])[0, 1] > 0.99


def test_packaged_parts_through_live_stream_form_playable_segments() -> None:
    stream = LiveStream(0.256, 8)
    packager = Packager(stream.publish)
    stream.set_init(packager.init)
    packager.push(tone(5.0))
    packager.flush()
    stream.end()
    segments = [stream.segment(msn) for msn in range(3)]
    assert all(s is not None for s in segments)
    decoded = decode(packager.init + b"".join(s for s in segments if s is not None))
    assert abs(decoded.size - 5 * RATE) < FRAME_SIZE
    assert peak_hz(decoded) == pytest.approx(440, abs=1)


async def _deliver_on_loop() -> None:
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()
    delivered: list[tuple[int, bytes, float]] = []

    def sink(data: bytes, duration: float) -> None:
        delivered.append((threading.get_ident(), data, duration))

    encoder = EncoderThread(lambda on_part: Packager(on_part), loop, sink)
    assert fmp4.read_timescale(encoder.init) == RATE  # available before any audio
    pcm = tone(1.0)
    for start in range(0, pcm.size, 960):
        assert encoder.submit(pcm[start : start + 960])
    await encoder.stopped()
    await asyncio.sleep(0)  # the last call_soon_threadsafe callbacks run now
    assert {thread for thread, _, _ in delivered} == {loop_thread}
    assert len(delivered) == math.ceil(math.ceil(RATE / FRAME_SIZE) / 12)
    decoded = decode(encoder.init + b"".join(data for _, data, _ in delivered))
    assert abs(decoded.size - RATE) < FRAME_SIZE
    assert not encoder.submit(pcm[:960])  # stopped


def test_encoder_thread_delivers_parts_on_the_loop_thread() -> None:
    asyncio.run(_deliver_on_loop())


async def _drop_when_behind() -> None:
    loop = asyncio.get_running_loop()
    stalled = threading.Event()
    release = threading.Event()

    def tee(data: bytes, duration: float) -> None:
        # A stuck disk, say: the encoder thread blocks on its first part.
        stalled.set()
        release.wait(5)

    delivered: list[float] = []
    encoder = EncoderThread(
        lambda on_part: Packager(on_part), loop, lambda _, d: delivered.append(d), tee=tee
    )
    pcm = tone(1.0)
    for start in range(0, pcm.size, 960):
        encoder.submit(pcm[start : start + 960])
    assert await asyncio.to_thread(stalled.wait, 5)
    accepted = sum(encoder.submit(pcm[:960]) for _ in range(200))  # 4 s more, 20 ms at a time
    assert encoder.backlog_s <= 2.0
    assert encoder.dropped_chunks == 200 - accepted > 0
    assert encoder.dropped_samples == encoder.dropped_chunks * 960
    release.set()
    started = time.monotonic()
    await encoder.stopped()
    assert time.monotonic() - started < 2.0
    await asyncio.sleep(0)  # one loop round: the callbacks already queued run now
    # Everything accepted came out; the dropped audio is simply absent from the timeline.
    assert sum(delivered) == pytest.approx(math.ceil((RATE + accepted * 960) / 1024) * 1024 / RATE)


def test_encoder_thread_drops_audio_when_more_than_two_seconds_behind() -> None:
    asyncio.run(_drop_when_behind())


def test_parts_reach_a_sink_given_as_on_part() -> None:
    got: list[float] = []

    def sink(_: bytes, duration: float) -> None:
        got.append(duration)

    typed: OnPart = sink
    packager = Packager(typed, frames_per_part=4)
    packager.push(tone(0.5))
    packager.flush()
    assert packager.part_duration_s == pytest.approx(4 * 1024 / RATE)
    assert sum(got) == pytest.approx(math.ceil(0.5 * RATE / 1024) * 1024 / RATE)
