"""Distributed mode on loopback: one Locust master and two workers share the audience."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scaletest.runner import explain
from tests.support.server import free_port, serve_process


def _majlis(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "majlis", "scaletest", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["dash", "hls"])
def test_a_master_and_two_workers_share_the_audience(
    protocol: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers play what the master's --protocol says (they hold both kinds of user)."""
    monkeypatch.setenv("MAJLIS_LOG_LEVEL", "warning")
    port, master_port = free_port(), free_port()
    origin = serve_process(tmp_path, port)
    out = tmp_path / "report"
    load = ("--listeners", "30", "--over", "3", "--hold", "10", "--probes", "1")
    load += ("--protocol", protocol)
    master = _majlis(
        "--api-url", f"http://127.0.0.1:{port}", *load, "--master", "--expect-workers", "2",
        "--master-port", str(master_port), "--out", str(out),
    )  # fmt: skip
    worker_args = ("--worker", "--master-host", "127.0.0.1", "--master-port", str(master_port))
    workers = [_majlis(*worker_args) for _ in range(2)]
    try:
        stdout, stderr = master.communicate(timeout=180)
        result = subprocess.CompletedProcess(master.args, master.returncode, stdout, stderr)
        assert master.returncode == 0, explain(result)
        for worker in workers:
            assert worker.wait(timeout=30) == 0
    finally:
        for process in (master, *workers):
            if process.poll() is None:
                process.kill()
            process.communicate()
        origin.terminate()
        origin.wait(15)
    report = json.loads((out / "report.json").read_text())
    s = report["summary"]
    assert s["workers"] == 2
    assert s["seated"] == 30 and s["errors"] == 0
    if protocol == "dash":  # a segment every 2.048 s, from each of 30 listeners, for ~10 s
        assert s["parts_fetched"] == 0 and s["segments_fetched"] > 30 * 4, s
        assert s["chunk_latency_ms"]["count"] > 30 * 2, s
    else:
        assert s["parts_fetched"] > 30 * 3 * 6 and s["segments_fetched"] == 0, s
    assert s["speaker_to_listener_s"]["count"] >= 2
    assert "waiting for 2 workers" in stdout
