"""Acceptance (issue 5): behind a real nginx edge, 100 and then 2,000 simulated LL-HLS
listeners cost the origin <= 1.05 requests per published part — for playlists and parts alike.
(nginx is the LL-HLS edge: a collapsed DASH segment request waits there for the whole segment,
so these listeners are LL-HLS ones, ``--protocol hls``.)

On this 2-core machine the origin and nginx share core 0 and the load generator gets core 1
(taskset), so each side's CPU is its own; the report of each run states what the generator
really sustained (its CPU and clock lag), and the amplification is read from the origin's own
/metrics in the steady state (everyone seated), as the report defines it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.scaletest.runner import explain, scaletest
from tests.support.nginx import nginx_binary, running_edge
from tests.support.server import free_port, serve_process
from tests.support.services import unavailable
from tests.support.varnish import running_varnish, varnishd_binary


def _pin(pids: list[int], cpu: int) -> None:
    """Every thread of these processes onto one CPU (taskset -a), when the box has two."""
    if (os.cpu_count() or 1) < 2:
        return
    for pid in pids:
        subprocess.run(
            ["taskset", "-a", "-cp", str(cpu), str(pid)], check=True, capture_output=True
        )


#: Through Locust, 2,000 listeners are more than one generator core sustains (~3,700 of the
#: ~15,600 req/s they need): they lag live by seconds and re-ask for playlist states other
#: listeners asked for long ago (1.72-2.17 origin playlist requests per part), which says more
#: about the generator than the edge. So this runs 100 in CI and 2,000 opt-in
#: (``MAJLIS_EDGE_ACCEPTANCE_2000=1``); the 2,000-listener acceptance CI asserts is
#: tests/delivery/test_edge_nginx.py's, with the raw asyncio listeners (~0.35 of a core).
RUNS = [pytest.param(100, 5, 25, id="100-listeners")]
if os.environ.get("MAJLIS_EDGE_ACCEPTANCE_2000") == "1":
    RUNS.append(pytest.param(2000, 20, 90, id="2000-listeners"))


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize(("listeners", "over", "hold"), RUNS)
def test_edge_keeps_origin_requests_per_part_flat(
    listeners: int, over: int, hold: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if nginx_binary() is None:
        unavailable("nginx is not installed (Debian package nginx)")
    monkeypatch.setenv("MAJLIS_LOG_LEVEL", "warning")
    port = free_port()
    origin_url = f"http://127.0.0.1:{port}"
    origin = serve_process(tmp_path, port)
    generator = ("--generator-cpus", "1") if (os.cpu_count() or 1) >= 2 else ()
    try:
        _pin([origin.pid], 0)
        with running_edge(origin_url, tmp_path / "edge", access_log=False) as edge:
            _pin(edge.pids(), 0)
            out = tmp_path / "report"
            result, report = scaletest(
                out, "--api-url", origin_url, "--hls-url-base", edge.url,
                "--listeners", str(listeners), "--profile", "ramp", "--over", str(over),
                "--hold", str(hold), "--probes", "1", "--protocol", "hls", *generator,
                timeout=600,
            )  # fmt: skip
    finally:
        origin.terminate()
        origin.wait(15)
    assert result.returncode == 0, explain(result)
    s = report["summary"]
    assert s["seated"] == listeners, (listeners, s["seated"])
    assert s["parts_fetched"] > listeners * 10, s["parts_fetched"]
    steady = s["amplification_steady"]
    assert steady is not None and steady["parts_published"] >= 40, s
    context = (steady, s["amplification"], s["generator_cpu_peak"], s["generator_lag_ms_peak"])
    assert steady["playlist_per_part"] <= 1.05, context
    assert steady["part_per_part"] <= 1.05, context


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_varnish_edge_costs_the_origin_one_request_per_segment_for_dash_listeners(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DASH rehearsal behind the edge made for it: 100 LL-DASH listeners (the defaults:
    the Opus rendition) through Varnish, each streaming every segment as it is produced, cost
    the origin one segment request per segment (Varnish streams one fetch to every waiter), and
    each segment's first chunk reaches them a fraction of a chunk after it was captured."""
    if varnishd_binary() is None:
        unavailable("varnishd is not installed (Debian package varnish)")
    monkeypatch.setenv("MAJLIS_LOG_LEVEL", "warning")
    port = free_port()
    origin_url = f"http://127.0.0.1:{port}"
    origin = serve_process(tmp_path, port)
    generator = ("--generator-cpus", "1") if (os.cpu_count() or 1) >= 2 else ()
    try:
        _pin([origin.pid], 0)
        with running_varnish(origin_url, tmp_path / "edge") as edge:
            out = tmp_path / "report"
            result, report = scaletest(
                out, "--api-url", origin_url, "--hls-url-base", edge.url,
                "--listeners", "100", "--profile", "ramp", "--over", "5", "--hold", "25",
                "--probes", "1", *generator, timeout=400,
            )  # fmt: skip
    finally:
        origin.terminate()
        origin.wait(15)
    assert result.returncode == 0, explain(result)
    s = report["summary"]
    assert s["protocol"] == "dash" and s["dash_rendition"] == "opus" and s["seated"] == 100, s
    assert s["errors"] == 0, report["engine"]["totals"]["errors"]
    assert s["segments_fetched"] > 100 * 10, s["segments_fetched"]
    steady = s["amplification_steady"]
    assert steady is not None and steady["segments_published"] >= 5, s
    context = (steady, s["amplification"], s["generator_cpu_peak"], s["generator_lag_ms_peak"])
    # The window's ends cut a segment (summary._worst): one request is forgiven, no more.
    per_segment = (steady["segment_requests"] - 1) / steady["segments_published"]
    assert per_segment <= 1.05, context
    check = next(c for c in report["verdict"]["checks"] if "per edge" in c["name"])
    assert check["name"] == "origin requests per segment per edge" and check["ok"], check
    assert s["chunk_latency_ms"]["p50"] < 500, s["chunk_latency_ms"]
