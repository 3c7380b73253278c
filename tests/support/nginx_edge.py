"""A real nginx caching edge (the configuration ``majlis edge-config`` renders) for tests.

    with run_nginx_edge(server.base_url, tmp_path) as edge:
        httpx.get(edge.url + "/hls/<id>/live.m3u8")
        edge.entries()  # the access log: cache status and upstream address of every request

``edge.access_log`` is a Path of JSON lines with ``cache`` (``$upstream_cache_status``) and
``upstream`` (``$upstream_addr``, empty when the origin was not asked); background cache
updates are logged too, so the lines with an upstream are exactly the origin requests.
Skips (fails under MAJLIS_REQUIRE_ALL=1) when nginx is not installed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.nginx import Edge, nginx_binary, running_edge
from tests.support.services import unavailable

__all__ = ["Edge", "origin_requests", "run_nginx_edge"]


@contextmanager
def run_nginx_edge(
    origin_url: str | Sequence[str], tmp_path: Path, workers: int = 1
) -> Iterator[Edge]:
    """nginx on a free port in front of ``origin_url`` (or several API nodes); its files live in
    ``tmp_path/edge``."""
    if nginx_binary() is None:
        unavailable("nginx is not installed (Debian package nginx)")
    with running_edge(origin_url, tmp_path / "edge", workers=workers) as edge:
        yield edge


def origin_requests(entries: list[dict[str, Any]], uri_prefix: str = "") -> list[dict[str, Any]]:
    """The access-log entries that went to the origin (optionally only under ``uri_prefix``)."""
    return [e for e in entries if e["upstream"] and e["uri"].startswith(uri_prefix)]
