"""``majlis scaletest`` end to end against a real ``majlis serve``: the numbers are real."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import escape
from pathlib import Path

import pytest

from tests.scaletest.runner import explain, scaletest
from tests.support.server import free_port, serve_process


@pytest.fixture
def origin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("MAJLIS_LOG_LEVEL", "warning")
    port = free_port()
    process = serve_process(tmp_path, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(15)


def test_a_brief_run_seats_everyone_hears_the_speaker_and_writes_its_report(
    origin: str, tmp_path: Path
) -> None:
    """The whole tool in a few seconds with LL-HLS listeners, for the default suite: the
    numbers of a real run are asserted by the two runs below (slow: they hold 12-14 s of load,
    CI runs them); the DASH listeners' brief run is the next test."""
    out = tmp_path / "report"
    result, report = scaletest(
        out, "--api-url", origin, "--listeners", "5", "--speakers", "1", "--over", "1",
        "--hold", "4", "--protocol", "hls",
    )  # fmt: skip
    assert result.returncode == 0, explain(result)
    assert re.search(r"users 5/5", result.stdout), explain(result)
    s = report["summary"]
    assert s["seated"] == 5 and s["errors"] == 0, s
    assert s["protocol"] == "hls" and s["segments_fetched"] == 0
    assert s["speakers_connected"] == 1
    assert s["parts_fetched"] > 0 and s["first_audio_ms"]["p50"] > 0, s
    assert s["speaker_to_listener_s"]["count"] >= 1, report["media"]
    assert s["amplification"]["parts_published"] > 0, s
    assert report["verdict"]["outcome"] in ("go", "no-go", "no-verdict"), report["verdict"]
    html = (out / "report.html").read_text()
    assert escape(report["verdict"]["headline"]) in html
    for png in report["plots"].values():
        assert (out / png).stat().st_size > 10_000
        assert f"src='{png}'" in html


def test_a_brief_run_of_dash_listeners_plays_them_and_reports_dash_figures(
    origin: str, tmp_path: Path
) -> None:
    """What the web client plays (the default protocol), end to end in a few seconds: the
    listeners read the MPD, set their clocks, stream each segment as it is produced, and the
    report shows what they got."""
    out = tmp_path / "report"
    result, report = scaletest(
        out, "--api-url", origin, "--listeners", "5", "--speakers", "1", "--over", "1",
        "--hold", "4",
    )  # fmt: skip
    assert result.returncode == 0, explain(result)
    assert "LL-DASH (Opus) listeners on" in result.stdout, explain(result)
    assert re.search(r"users 5/5 .*\| segments/s \d+ chunk p50", result.stdout), explain(result)
    s = report["summary"]
    assert report["plan"]["protocol"] == "dash" and s["protocol"] == "dash"
    assert s["dash_rendition"] == "opus"  # what dash.js plays where the browser can
    assert s["seated"] == 5 and s["errors"] == 0, s
    assert s["speakers_connected"] == 1
    totals = report["engine"]["totals"]
    assert {"mpd", "clock", "init", "segment"} <= set(totals), totals.keys()
    assert s["parts_fetched"] == 0 and s["playlist_reloads"] == 0  # no LL-HLS listener
    # 4-5 s of listening: each listener's tune-in segment (its chunks all there), then the
    # live one and the next as they are produced, one every 1.92 s.
    assert s["segments_fetched"] >= 5 * 2, s
    assert s["audio_s"] > 5 * 3, s
    assert 0 < s["first_audio_ms"]["p50"] < 2000, s
    assert s["stall_ratio"] is not None and s["stall_ratio"] < 0.05, s
    # Segments asked for on time: their first chunk arrives once encoded and packaged, well
    # under a chunk late on a loopback origin; the player plays the MPD's 1.2 s behind.
    chunk = s["chunk_latency_ms"]
    assert chunk["count"] >= 5 and 0 < chunk["p50"] < 500, s
    playback = s["playback_latency_ms"]
    assert playback["count"] == 5 and 1000 < playback["p50"] < 2500, s
    amp = s["amplification"]
    assert amp["segments_published"] > 2 and amp["segment_requests"] >= s["segments_fetched"], amp
    assert amp["segment_per_segment"] > 0 and amp["mpd_per_segment"] > 0, amp
    html = (out / "report.html").read_text()
    assert escape(report["verdict"]["headline"]) in html
    assert "LL-DASH (Opus)\nlisteners on" in html
    assert "chunk arrival latency" in html and "segment / MPD requests per segment" in html
    assert "chunk latency" in report["plots"]
    for png in report["plots"].values():
        assert (out / png).stat().st_size > 10_000
        assert f"src='{png}'" in html


@pytest.mark.slow  # 12 s of load at full audience, ~25 s in all; the brief run above is fast
def test_a_short_run_reports_real_numbers(origin: str, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result, report = scaletest(
        out,
        "--api-url",
        origin,
        "--listeners",
        "20",
        "--speakers",
        "1",
        "--over",
        "3",
        "--hold",
        "12",
        "--protocol",
        "hls",
    )
    assert result.returncode == 0, explain(result)
    progress = [line for line in result.stdout.splitlines() if re.search(r"users \d+/20", line)]
    assert len(progress) >= 12, explain(result)  # a line a second
    s = report["summary"]
    assert s["seated"] == 20 and s["errors"] == 0
    assert 0 < s["join_attempt_ms"]["p50"] <= s["join_attempt_ms"]["p99"]
    assert s["first_audio_ms"]["p50"] > 0
    # 20 listeners x ~3.9 parts/s x ~13 s, minus a loaded machine's slack.
    assert s["parts_fetched"] > 20 * 3 * 10
    assert s["stall_ratio"] is not None and s["stall_ratio"] < 0.05  # stalls are counted
    assert isinstance(s["stalls"], int)
    assert s["speakers_connected"] == 1
    latency = s["speaker_to_listener_s"]
    assert latency["count"] >= 4, report["media"]
    assert 0.3 <= latency["p50"] <= 5.0
    amp = s["amplification"]
    assert amp["parts_published"] > 30
    # No edge: the origin serves every listener (and the two probes) itself.
    assert 10 < amp["part_per_part"] < 30 and 10 < amp["playlist_per_part"] < 30
    assert s["origin_peak_rss_mb"] > 20
    assert report["verdict"]["go"], report["verdict"]
    html = (out / "report.html").read_text()
    assert "GO: this run held 20 listeners" in html
    for png in report["plots"].values():
        assert (out / png).stat().st_size > 10_000
        assert f"src='{png}'" in html


@pytest.mark.slow  # 14 s of load, ~25 s in all; admission's 503 + Retry-After is tested fast in
# tests/test_admission.py, the listeners' jittered retry in test_pieces.py
def test_a_surge_past_admission_is_told_to_retry_and_everyone_is_seated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node admitting 10 joins a second, 60 listeners arriving in one: 503 + Retry-After,
    which the listeners wait out (jittered) until all are seated — no error, no 5xx but 503."""
    monkeypatch.setenv("MAJLIS_MAX_JOINS_PER_S", "10")
    monkeypatch.setenv("MAJLIS_RETRY_AFTER_S", "1")
    monkeypatch.setenv("MAJLIS_LOG_LEVEL", "warning")
    port = free_port()
    process = serve_process(tmp_path, port)
    try:
        result, report = scaletest(
            tmp_path / "surge",
            "--api-url",
            f"http://127.0.0.1:{port}",
            "--listeners",
            "60",
            "--profile",
            "surge",
            "--over",
            "1",
            "--hold",
            "14",
            "--speakers",
            "1",
            "--probes",
            "0",
        )
    finally:
        process.terminate()
        process.wait(15)
    assert result.returncode == 0, explain(result)
    s = report["summary"]
    assert s["join_503"] > 10, s
    assert s["seated"] == 60 and s["errors"] == 0, s
    assert s["seated_ms"]["p99"] > 1000  # the late ones waited out Retry-After
    assert s["origin_shed"] >= s["join_503"]
    timeline = report["engine"]["timeline"]
    assert max(row["join 503"] for row in timeline) > 0
