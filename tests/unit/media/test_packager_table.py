"""The packager, per rendition, fed in memory: parts of the rendition's exact duration, boxes a
player can walk (``moof`` + ``mdat``, sequence numbers and decode times without gaps), the same
bytes however the PCM arrives, and init + parts decodable by PyAV from bytes alone.

One row per rendition (media/program.py): AAC-LC, 12 frames of 1024 samples (0.256 s), and
Opus, 24 frames of 960 samples (0.48 s).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest

from majlis.media.hls import fmp4
from majlis.media.hls.opus import OpusEncoder
from majlis.media.hls.packager import FrameEncoder
from majlis.media.program import FRAMES_PER_PART, OPUS_FRAMES_PER_PART
from tests.media.tones import decode_mp4
from tests.support.audio import RATE, peak_hz
from tests.support.packaging import fragment_info, package

SECONDS = 1.2


@dataclass(frozen=True)
class Rendition:
    encoder: Callable[[], FrameEncoder | None]  # None: the packager's default, AAC-LC
    frames_per_part: int
    frame_size: int
    part_s: float
    sample_entry: str


RENDITIONS = {
    "aac": Rendition(lambda: None, FRAMES_PER_PART, 1024, 0.256, "mp4a"),
    "opus": Rendition(OpusEncoder, OPUS_FRAMES_PER_PART, 960, 0.48, "Opus"),
}


def tone(seconds: float = SECONDS, hz: float = 440.0) -> npt.NDArray[np.float32]:
    t = np.arange(round(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.fixture(scope="module", params=list(RENDITIONS))
def packaged(request: pytest.FixtureRequest) -> tuple[Rendition, bytes, list[tuple[bytes, float]]]:
    rendition = RENDITIONS[request.param]
    init, parts = package(tone(), rendition.encoder(), rendition.frames_per_part)
    return rendition, init, parts


def test_every_part_but_the_last_lasts_the_part_target(
    packaged: tuple[Rendition, bytes, list[tuple[bytes, float]]],
) -> None:
    rendition, _, parts = packaged
    durations = [duration for _, duration in parts]
    assert durations[:-1] == [rendition.part_s] * (len(parts) - 1)
    assert 0 < durations[-1] <= rendition.part_s
    # The last part carries the flush: the input, the codec's latency and padding to a frame.
    assert SECONDS <= sum(durations) < SECONDS + rendition.part_s


def test_parts_are_moof_and_mdat_on_one_unbroken_timeline(
    packaged: tuple[Rendition, bytes, list[tuple[bytes, float]]],
) -> None:
    rendition, init, parts = packaged
    assert [box.type for box in fmp4.iter_boxes(init)] == ["ftyp", "moov"]
    assert fmp4.sample_entry(init).type == rendition.sample_entry
    assert fmp4.read_timescale(init) == RATE
    decode_time = 0
    for number, (data, duration) in enumerate(parts, start=1):
        assert [box.type for box in fmp4.iter_boxes(data)] == ["moof", "mdat"]
        info = fragment_info(data)
        assert (info.sequence_number, info.base_media_decode_time) == (number, decode_time)
        assert info.sample_count <= rendition.frames_per_part
        assert info.duration == info.sample_count * rendition.frame_size
        assert info.duration == round(duration * RATE)
        decode_time += info.duration


def test_init_and_parts_decode_from_memory_to_the_tone(
    packaged: tuple[Rendition, bytes, list[tuple[bytes, float]]],
) -> None:
    _, init, parts = packaged
    pcm, rate = decode_mp4(init + b"".join(data for data, _ in parts))
    assert rate == RATE
    assert abs(pcm.size - SECONDS * RATE) < 0.1 * RATE  # the timeline is the input's length
    middle = pcm[RATE // 4 : RATE]
    assert abs(peak_hz(middle) - 440.0) < 2.0


@pytest.mark.parametrize("chunk", [37, 4801, round(SECONDS * RATE)])
@pytest.mark.parametrize("name", list(RENDITIONS))
def test_the_parts_do_not_depend_on_how_the_pcm_arrives(name: str, chunk: int) -> None:
    rendition = RENDITIONS[name]
    pcm = tone(0.6)
    _, reference = package(pcm, rendition.encoder(), rendition.frames_per_part)
    _, parts = package(pcm, rendition.encoder(), rendition.frames_per_part, chunk)
    assert parts == reference
