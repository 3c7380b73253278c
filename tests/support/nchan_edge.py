"""Run the nginx + Nchan LL-DASH edge (``majlis edge-config --engine nchan``) and its feeder
(``majlis edge-feed``) as real processes: for tests, benchmarks and rehearsals."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from majlis.delivery.edge import EdgeOptions
from majlis.delivery.nchan import MODULES_DIR, NchanOptions, render
from tests.support.nginx import Edge, free_port, running_edge
from tests.support.wait import eventually

MODULES = ("ngx_nchan_module.so", "ngx_http_headers_more_filter_module.so")


def nchan_missing() -> str | None:
    """Why the nchan edge cannot run here, or None."""
    absent = [m for m in MODULES if not (MODULES_DIR / m).exists()]
    if absent:
        return (
            f"nginx modules {', '.join(absent)} are not installed "
            "(Debian: apt-get install libnginx-mod-nchan libnginx-mod-http-headers-more-filter)"
        )
    return None


@dataclass
class NchanEdge:
    edge: Edge
    feeder: subprocess.Popen[bytes]
    feed_url: str

    @property
    def url(self) -> str:
        return self.edge.url

    def pids(self) -> list[int]:
        """nginx's master and workers, and the feeder: together they are the edge's cost."""
        return [*self.edge.pids(), self.feeder.pid]


@contextmanager
def running_nchan_edge(
    origin_url: str | Sequence[str], workdir: Path, *, access_log: bool = True, workers: int = 1
) -> Iterator[NchanEdge]:
    """nginx + Nchan (``workers`` worker processes) and its feeder, in front of ``origin_url``;
    the access log (unbuffered, for tests to read) can be turned off, as a benchmark's is."""
    first = origin_url if isinstance(origin_url, str) else origin_url[0]
    feed_port, port = free_port(), free_port()
    segments = workdir / "dash"
    segments.mkdir(parents=True, exist_ok=True)

    def rendered(options: EdgeOptions) -> str:
        return render(NchanOptions(options, feed_port=feed_port, segments_dir=segments))

    log = (workdir / "feeder.stderr").open("wb")
    feeder = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "majlis",
            "edge-feed",
            "--origin",
            first,
            "--edge",
            f"http://127.0.0.1:{port}",
            "--segments-dir",
            str(segments),
            "--port",
            str(feed_port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
        env=os.environ.copy(),
    )
    feed_url = f"http://127.0.0.1:{feed_port}"
    try:
        with running_edge(
            origin_url,
            workdir / "nginx",
            render=rendered,
            port=port,
            access_log=access_log,
            workers=workers,
        ) as edge:
            eventually(
                lambda: _answers(feed_url + "/healthz"),
                message=lambda: (workdir / "feeder.stderr").read_text(),
            )
            yield NchanEdge(edge, feeder, feed_url)
    finally:
        feeder.terminate()
        try:
            feeder.wait(timeout=10)
        except subprocess.TimeoutExpired:
            feeder.kill()
            feeder.wait()
        log.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
