"""Issue 14, finding 3: /metrics is guarded, rendered at most once a second, and shed.

A probe looped on /metrics: each rendering walks every series, and eight loops stalled live
rooms' clocks. Now a scraper needs MAJLIS_METRICS_TOKEN when one is set (else only loopback may
scrape), a burst of scrapes costs one rendering a second, and under load /metrics is shed like
any read (tests/test_admission.py)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.support.client import problem_of
from tests.support.server import run_server

TOKEN = "a metrics token for this test, long enough"


def test_a_token_is_required_when_one_is_set(tmp_path: Path) -> None:
    with run_server(tmp_path, metrics_token=TOKEN) as server:
        url = f"{server.base_url}/metrics"
        problem_of(httpx.get(url), 401)
        problem_of(httpx.get(url, headers={"Authorization": "Bearer wrong"}), 401)
        assert httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_without_a_token_only_this_machine_may_scrape(tmp_path: Path) -> None:
    with run_server(tmp_path, trusted_proxies="127.0.0.1/32") as server:
        url = f"{server.base_url}/metrics"
        assert httpx.get(url).status_code == 200  # loopback
        # Through an edge on this machine, for a client elsewhere: refused, saying why.
        far = httpx.get(url, headers={"X-Forwarded-For": "203.0.113.9"})
        assert "MAJLIS_METRICS_TOKEN" in problem_of(far, 403)["detail"]


def test_a_burst_of_scrapes_costs_one_rendering_a_second(tmp_path: Path) -> None:
    with run_server(tmp_path) as server, ThreadPoolExecutor(8) as pool:
        url = f"{server.base_url}/metrics"
        started = time.monotonic()
        replies = list(pool.map(lambda _: httpx.get(url), range(200)))
        elapsed = time.monotonic() - started
        assert {r.status_code for r in replies} == {200}
        renderings = {r.headers["x-metrics-rendered-at"] for r in replies}
        assert len(renderings) <= elapsed / 1.0 + 1, (len(renderings), elapsed)
