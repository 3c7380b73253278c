"""Recordings: one fragmented .m4a that survives being cut at any byte, and its index."""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import random
import threading
from pathlib import Path

import av
import numpy as np
import pytest

from majlis.media.hls import fmp4
from majlis.media.hls.aac import FRAME_SIZE
from majlis.media.hls.packager import EncoderThread, Packager
from majlis.media.hls.vod import vod_playlist
from majlis.media.recording import Recorder, RecordingIndex, recover
from tests.support.tone_recording import RATE, record

PART_SAMPLES = 12 * FRAME_SIZE


def decoded_samples(data: bytes, tolerate_torn_tail: bool = False) -> int:
    count = 0
    with av.open(io.BytesIO(data), mode="r") as container:
        try:
            for frame in container.decode(audio=0):
                count += frame.samples
        except av.error.InvalidDataError:
            # FFmpeg reads a cut-off last sample as corrupt; all before it decoded.
            if not tolerate_torn_tail:
                raise
    return count


def test_recording_is_a_playable_m4a(tmp_path: Path) -> None:
    path = tmp_path / "space.m4a"
    init_length, ends = record(path, 3.0)
    data = path.read_bytes()
    assert len(data) == ends[-1]
    assert decoded_samples(data) == 141 * FRAME_SIZE  # ceil(3 s / 1024 samples)
    index = RecordingIndex.read(path)
    assert index.init_length == init_length
    assert [p.offset + p.length for p in index.parts] == ends
    assert sum(p.duration for p in index.parts) == pytest.approx(141 * FRAME_SIZE / RATE)


def test_recording_cut_at_random_bytes_still_plays_up_to_its_last_whole_part(
    tmp_path: Path,
) -> None:
    source = tmp_path / "space.m4a"
    init_length, ends = record(source, 3.0)
    data = source.read_bytes()
    rng = random.Random(20240501)
    moof_size = next(fmp4.iter_boxes(data[ends[0] :])).size
    cuts = [ends[3], ends[3] + 4, ends[3] + moof_size, ends[3] + moof_size + 9, len(data) - 1]
    cuts += [rng.randrange(init_length, len(data)) for _ in range(8)]
    for cut in cuts:
        whole_parts = sum(1 for end in ends if end <= cut)
        torn = tmp_path / f"cut-{cut}.m4a"
        torn.write_bytes(data[:cut])
        # As a killed process leaves it: plays (FFmpeg stops at the torn part)...
        assert decoded_samples(data[:cut], tolerate_torn_tail=True) >= whole_parts * PART_SAMPLES
        # ...indexes to exactly its whole parts...
        index = RecordingIndex.read(torn)
        assert len(index.parts) == whole_parts
        # ...and once recovered, decodes cleanly to exactly those parts.
        expected_length = ends[whole_parts - 1] if whole_parts else init_length
        assert recover(torn) == expected_length == torn.stat().st_size
        assert decoded_samples(torn.read_bytes()) == whole_parts * PART_SAMPLES


def test_recover_a_file_torn_inside_its_init_segment(tmp_path: Path) -> None:
    source = tmp_path / "space.m4a"
    init_length, _ = record(source, 0.5)
    torn = tmp_path / "torn.m4a"
    torn.write_bytes(source.read_bytes()[: init_length - 10])
    assert recover(torn) == 0
    assert RecordingIndex.scan(torn, 8) == []
    empty = tmp_path / "empty.m4a"
    empty.touch()
    assert RecordingIndex.read(empty).complete_length == 0


def test_recovery_ignores_a_zero_filled_tail(tmp_path: Path) -> None:
    # A machine crash can leave allocated but unwritten blocks: zeros after the last write.
    source = tmp_path / "space.m4a"
    _, ends = record(source, 1.0)
    padded = tmp_path / "padded.m4a"
    padded.write_bytes(source.read_bytes() + bytes(8192))
    assert recover(padded) == ends[-1]


def test_scan_groups_parts_into_segments_for_the_replay(tmp_path: Path) -> None:
    path = tmp_path / "space.m4a"
    init_length, ends = record(path, 5.0)  # 235 frames: 19 full parts and one of 7 frames
    segments = RecordingIndex.scan(path, 8)
    assert [s.duration for s in segments] == pytest.approx(
        [8 * PART_SAMPLES / RATE, 8 * PART_SAMPLES / RATE, (3 * PART_SAMPLES + 7 * 1024) / RATE]
    )
    assert segments[0].offset == init_length
    assert [s.offset + s.length for s in segments] == [ends[7], ends[15], ends[-1]]
    # The replay playlist plays the whole recording through FFmpeg's HLS demuxer.
    playlist = tmp_path / "replay.m3u8"
    playlist.write_text(vod_playlist(segments, path.name))
    with av.open(str(playlist), mode="r") as container:
        samples = sum(frame.samples for frame in container.decode(audio=0))
    assert samples == 235 * FRAME_SIZE


def test_recorder_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "space.m4a"
    path.write_bytes(b"an earlier recording")
    with pytest.raises(FileExistsError):
        Recorder(path, b"init")
    assert path.read_bytes() == b"an earlier recording"


def test_recorder_syncs_at_most_once_per_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[float] = []
    real_fsync = os.fsync
    now = [0.0]
    this_thread = threading.get_ident()

    def counting_fsync(fd: int) -> None:
        # Only this test's recorder: live Spaces of the session's servers record on their own
        # threads, and their fsyncs go through the same patched function.
        if threading.get_ident() == this_thread:
            synced.append(now[0])
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    with Recorder(tmp_path / "space.m4a", b"init", clock=lambda: now[0]) as recorder:
        for _ in range(40):  # ten seconds of 0.256 s parts
            now[0] += 0.256
            recorder.append(b"part")
    # The new directory entry and the init segment at once, then at most once a second while
    # parts arrive (10.24 s of them), then at close.
    assert synced[:2] == [0.0, 0.0]
    during = synced[1:-1]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(during))
    assert len(during) - 1 == 10
    assert (tmp_path / "space.m4a").read_bytes() == b"init" + b"part" * 40


def test_recorder_writes_the_init_segment_first_and_once(tmp_path: Path) -> None:
    with Recorder(tmp_path / "space.m4a") as recorder:
        with pytest.raises(RuntimeError):
            recorder.append(b"part")
        recorder.write_init(b"init")
        with pytest.raises(RuntimeError):
            recorder.write_init(b"init")


async def _record_on_the_encoder_thread(path: Path) -> int:
    loop = asyncio.get_running_loop()
    delivered: list[bytes] = []
    recorder = Recorder(path)
    encoder = EncoderThread(
        lambda on_part: Packager(on_part),
        loop,
        lambda data, _: delivered.append(data),
        tee=lambda data, _: recorder.append(data),
    )
    recorder.write_init(encoder.init)
    t = np.arange(RATE) / RATE
    pcm = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for start in range(0, pcm.size, 960):
        encoder.submit(pcm[start : start + 960])
    await encoder.stopped()
    recorder.close()
    await asyncio.sleep(0)  # one loop round: the deliveries already queued run now
    assert recorder.parts_written == len(delivered)
    return len(delivered)


def test_recorder_as_the_encoder_threads_tee(tmp_path: Path) -> None:
    path = tmp_path / "space.m4a"
    parts = asyncio.run(_record_on_the_encoder_thread(path))
    assert len(RecordingIndex.read(path).parts) == parts == 4


def test_a_resumed_recording_continues_the_timeline(tmp_path: Path) -> None:
    path = tmp_path / "space.m4a"
    _, ends = record(path, 1.0)  # 47 frames: 3 full parts and one of 11
    with path.open("ab") as file:
        file.write(b"\0\0\1\0moof-torn-by-the-crash")
    recorder, index = Recorder.resume(path)
    assert path.stat().st_size == ends[-1]
    assert (index.next_sequence_number, index.next_decode_time) == (5, 47 * FRAME_SIZE)
    packager = Packager(
        lambda data, _: recorder.append(data),
        first_sequence_number=index.next_sequence_number,
        first_decode_time=index.next_decode_time,
    )
    t = np.arange(RATE) / RATE
    packager.push((0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))
    packager.flush()
    recorder.close()
    resumed = RecordingIndex.read(path)
    assert len(resumed.parts) == 8
    assert (resumed.next_sequence_number, resumed.next_decode_time) == (9, 94 * FRAME_SIZE)
    assert decoded_samples(path.read_bytes()) == 94 * FRAME_SIZE
