"""Clips are cut from the recording without re-encoding (issue 15): the packets copied are the
recording's own, trimmed to the range at AAC-frame precision, into a plain MP4 any player seeks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import pytest

from majlis.domain.errors import Overloaded
from majlis.media.clip_files import ClipFiles
from majlis.media.clips import NothingToClip, cut_last, cut_range, recorded_seconds
from majlis.media.hls import fmp4
from majlis.media.hls.aac import FRAME_SIZE
from tests.support.tone_recording import RATE, record

FRAME_S = FRAME_SIZE / RATE


def _packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(audio=0) if p.size]


def _box_types(path: Path) -> list[str]:
    data = path.read_bytes()
    return [box.type for box in fmp4.iter_boxes(memoryview(data), 0, len(data))]


def test_the_last_seconds_of_a_recording_are_its_own_packets_in_a_plain_mp4(
    tmp_path: Path,
) -> None:
    recording = tmp_path / "space.m4a"
    record(recording, 5.0)
    clip = tmp_path / "clip.m4a"
    cut = cut_last(recording, 2.0, clip)
    assert cut.duration == pytest.approx(2.0, abs=FRAME_S)
    assert cut.start + cut.duration == pytest.approx(recorded_seconds(recording), abs=FRAME_S)
    boxes = _box_types(clip)
    assert "moof" not in boxes and boxes.index("moov") < boxes.index("mdat"), boxes
    with av.open(str(clip)) as container:
        assert float(container.duration or 0) / 1e6 == pytest.approx(cut.duration, abs=0.05)
        samples = sum(frame.samples for frame in container.decode(audio=0))
    assert samples == pytest.approx(2.0 * RATE, abs=2 * FRAME_SIZE)
    # Not re-encoded: every packet of the clip is, byte for byte, the recording's last ones.
    ours, theirs = _packets(clip), _packets(recording)
    assert ours == theirs[-len(ours) :]
    assert not (tmp_path / "clip.m4a.partial").exists()


def test_a_range_of_a_replay_is_cut_at_frame_precision(tmp_path: Path) -> None:
    recording = tmp_path / "space.m4a"
    record(recording, 5.0)
    clip = tmp_path / "range.m4a"
    cut = cut_range(recording, 1.1, 3.6, clip)
    assert cut.start == pytest.approx(1.1, abs=FRAME_S)
    assert cut.duration == pytest.approx(2.5, abs=2 * FRAME_S)
    theirs = _packets(recording)
    first = round(cut.start / FRAME_S)
    assert _packets(clip) == theirs[first : first + len(_packets(clip))]


def test_a_range_past_the_end_is_refused_and_leaves_no_file(tmp_path: Path) -> None:
    recording = tmp_path / "space.m4a"
    record(recording, 3.0)
    clip = tmp_path / "late.m4a"
    with pytest.raises(NothingToClip):
        cut_range(recording, 10.0, 20.0, clip)
    assert not clip.exists() and not (tmp_path / "late.m4a.partial").exists()
    # A range running past the end is cut short at the end, not refused.
    assert cut_range(recording, 2.0, 30.0, clip).duration == pytest.approx(
        recorded_seconds(recording) - 2.0, abs=FRAME_S
    )


def test_a_recording_too_short_to_clip_is_refused(tmp_path: Path) -> None:
    recording = tmp_path / "space.m4a"
    record(recording, 0.5)
    with pytest.raises(NothingToClip):
        cut_last(recording, 30.0, tmp_path / "clip.m4a")


def test_a_node_that_cannot_write_clips_says_so_with_a_503_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "recordings").mkdir()
    record(tmp_path / "recordings" / "sp4ce.m4a", 3.0)
    (tmp_path / "clips").write_text("a file where the clips directory should be")
    with pytest.raises(Overloaded) as refused:
        asyncio.run(ClipFiles(tmp_path).cut_last("sp4ce", "c1", 1.0))
    assert refused.value.status == 503 and refused.value.retry_after_s == 30
