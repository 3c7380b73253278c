"""The scaletest's arithmetic, without a network: buffer model, marks, windows, plan, verdict."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from majlis.scaletest import playlist
from majlis.scaletest.backoff import retry_delay
from majlis.scaletest.buffer import PlaybackBuffer
from majlis.scaletest.marks import FREQS_HZ, INTERVAL_S, MarkFinder, latency_of, mark_pcm
from majlis.scaletest.plan import add_arguments, from_args
from majlis.scaletest.verdict import Figures, decide
from majlis.scaletest.window import delta, percentile

PART = 0.256


def test_buffer_starts_after_three_parts_and_plays_in_real_time() -> None:
    buf = PlaybackBuffer(start_s=3 * PART)
    assert not buf.add(10.0, PART) and not buf.add(10.0, PART)
    assert buf.add(10.0, PART)  # third part: playback starts
    assert buf.started_at == 10.0
    for i in range(1, 20):  # parts arrive exactly in real time: never a stall
        buf.add(10.0 + i * PART, PART)
    assert buf.stalls == 0 and buf.stalled_s == 0
    assert buf.played_s == pytest.approx(19 * PART)
    assert buf.buffered_s == pytest.approx(3 * PART)


def test_buffer_counts_a_stall_and_its_length() -> None:
    buf = PlaybackBuffer(start_s=PART)
    buf.add(0.0, PART)  # plays 0 .. 0.256
    buf.add(1.0, PART)  # ran dry at 0.256: stalled until this part refilled the buffer
    assert buf.stalls == 1
    assert buf.stalled_s == pytest.approx(1.0 - PART)
    assert buf.take_stalls() == [(pytest.approx(PART), pytest.approx(1.0 - PART))]
    assert buf.take_stalls() == []
    buf.add(1.0 + PART, PART)
    assert buf.stalls == 1


def test_window_percentiles_come_from_the_difference_of_snapshots() -> None:
    before = {10: 5, 20: 5}
    now = {10: 6, 20: 5, 300: 9}
    window = delta(now, before)
    assert window == {10: 1, 300: 9}
    assert percentile(window, 0.05) == 10
    assert percentile(window, 0.5) == 300
    assert percentile({}, 0.5) is None


def test_a_mark_is_found_at_its_latency_whatever_the_part_boundaries() -> None:
    finder = MarkFinder()
    latency = 0.734
    sent_start = 1000 * INTERVAL_S - 0.3  # 0.3 s of silence, then mark number 1000
    found: list[float] = []
    for i in range(12):  # twelve parts of 0.256 s, each "played" 0.734 s after it was sent
        t = sent_start + i * PART
        pcm = mark_pcm(t, round(PART * 48_000)).astype(np.float32) / 32768
        found += finder.feed(pcm, t + latency)
    assert len(found) == 2  # marks 1000 and 1001 in 3 s
    assert found == [pytest.approx(latency, abs=0.003)] * 2


def test_latency_pairs_a_pitch_with_its_own_mark_up_to_four_intervals() -> None:
    heard = 500 * INTERVAL_S + 0.1
    assert latency_of(heard, FREQS_HZ[500 % 4]) == pytest.approx(0.1)
    assert latency_of(heard, FREQS_HZ[499 % 4]) == pytest.approx(0.1 + INTERVAL_S)
    assert latency_of(heard, 3000.0) is None  # not a mark pitch: noise


def test_playlist_reading() -> None:
    text = (
        "#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n"
        '#EXT-X-PART:DURATION=0.256,URI="7.6.m4s",INDEPENDENT=YES\n'
        '#EXT-X-PART:DURATION=0.256,URI="7.7.m4s",INDEPENDENT=YES\n#EXTINF:2.048,\n7.m4s\n'
        '#EXT-X-PART:DURATION=0.250,URI="8.0.m4s",INDEPENDENT=YES\n'
        '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="8.1.m4s"\n'
    )
    listing = playlist.Playlist.of(text)
    assert [p.name for p in listing.parts] == ["7.6.m4s", "7.7.m4s", "8.0.m4s"]
    assert listing.hint == (8, 1)
    found = listing.find(7, 8)  # asked for a part past the segment's end
    assert found is not None and found.name == "8.0.m4s" and found.duration_s == 0.25
    assert listing.find(9, 0) is None
    first, last = listing.parts[1], listing.parts[2]
    assert listing.following(first) == (8, 0)  # what the server names, not (7, 8)
    assert listing.following(last) == (8, 1)  # the newest: the preload hint
    assert listing.behind(listing.parts[0]) == 2
    assert playlist.hls_base("http://e:1/hls/x/live.m3u8?a=1") == "http://e:1/hls/x/"
    assert playlist.path_of("http://h:8000/hls/x/live.m3u8") == "/hls/x/live.m3u8"
    assert playlist.path_of("/api/v1/x?listener=1") == "/api/v1/x?listener=1"


def test_retry_delay_is_jittered_around_the_hint_and_bounded() -> None:
    delays = [retry_delay("2") for _ in range(200)]
    assert 1.0 <= min(delays) < 1.3 and 2.7 < max(delays) <= 3.0
    assert 0.5 <= retry_delay("soon") <= 1.5  # unreadable: one second
    assert retry_delay("99999") <= 45.0


def _plan(*argv: str) -> object:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return from_args(parser.parse_args(list(argv)))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "--api-url is required"),
        (("--api-url", "ftp://x"), "http:// or https://"),
        (("--api-url", "http://x", "--listeners", "0"), "--listeners"),
        (("--api-url", "http://x", "--speakers", "14"), "--speakers"),
        (("--api-url", "http://x", "--over", "0"), "--over"),
        (("--api-url", "http://x", "--master"), "--expect-workers"),
        (("--api-url", "http://x", "--expect-workers", "2"), "only makes sense with --master"),
        (("--worker", "--master"), "exclude each other"),
        (("--api-url", "http://x", "--generator-cpus", "one"), "--generator-cpus"),
        (("--api-url", "http://x", "--space-id", "s1"), "--speakers 0"),
    ],
)
def test_bad_plans_are_refused_with_a_sentence(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _plan(*argv)


def test_profiles_set_the_arrival_rate() -> None:
    surge = _plan("--api-url", "http://x/", "--listeners", "1000", "--profile", "surge")
    assert surge.spawn_rate == 100  # type: ignore[attr-defined]
    assert surge.hls_url_base == "http://x"  # type: ignore[attr-defined]
    ramp = _plan("--api-url", "http://x", "--listeners", "600", "--profile", "ramp", "--hold", "5")
    assert ramp.spawn_rate == 10 and ramp.duration_s == 65  # type: ignore[attr-defined]


def _figures(**changes: object) -> Figures:
    base = dict(
        listeners=2000,
        seated=2000,
        requests=100_000,
        errors=0,
        stall_ratio=0.001,
        latency_p50_s=0.6,
        amplification=1.01,
        behind_edge=True,
        joins_per_s_peak=400.0,
        shed_seen=True,
        generator_cpu_peak=50.0,
    )
    return Figures(**{**base, **changes})  # type: ignore[arg-type]


def test_verdict_extrapolates_edges_and_api_nodes() -> None:
    verdict = decide(1_300_000, 60, _figures())
    assert verdict["go"]
    assert verdict["plan"]["edges_needed"] == 650
    assert verdict["plan"]["api_nodes_needed"] == 55  # 21,667 joins/s over 400 per node
    assert "650 edges" in verdict["summary"] and "55 API nodes" in verdict["summary"]


@pytest.mark.parametrize(
    ("change", "failed"),
    [
        ({"seated": 1999}, "every listener seated"),
        ({"stall_ratio": 0.05}, "stall ratio"),
        ({"amplification": 1.5}, "origin requests per part per edge"),
        ({"errors": 500}, "errors"),
        ({"latency_p50_s": None}, "latency"),
    ],
)
def test_a_failed_check_is_no_go(change: dict[str, object], failed: str) -> None:
    verdict = decide(10_000, 60, _figures(**change))
    assert not verdict["go"]
    assert verdict["summary"].startswith("NO-GO") and failed in verdict["summary"]


def test_the_cli_process_never_imports_locust_or_gevent() -> None:
    code = (
        "import sys, majlis.cli, majlis.scaletest.run, majlis.scaletest.report;"
        "majlis.cli._parser();"
        "bad = [m for m in ('gevent', 'locust') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_bad_flags_exit_2_with_a_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "majlis",
            "scaletest",
            "--api-url",
            "http://127.0.0.1:9",
            "--listeners",
            "-5",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "majlis scaletest: --listeners must be 1 to 1,000,000" in result.stderr
    assert "Traceback" not in result.stderr
    unknown = subprocess.run(
        [sys.executable, "-m", "majlis", "scaletest", "--profile", "tsunami"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr
