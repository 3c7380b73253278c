"""Run a real nginx with the rendered edge configuration: for tests, benchmarks and rehearsals.

Everything the process writes (config, cache, temp files, logs, pid) lives under one work
directory, so several edges can run side by side and nothing outside it is touched. nginx runs
in the foreground (``daemon off``) as a child we can signal; as root its workers would switch
to ``nobody`` and lose access to that directory, so they stay root (``user root``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from majlis.delivery.edge import EdgeOptions, directories, parse_origin, render_config
from tests.support.wait import WaitTimeout, eventually

DEFAULT_NGINX = "/usr/sbin/nginx"


def nginx_binary() -> str | None:
    """The nginx executable (PATH first, then Debian's location), or None if there is none."""
    found = shutil.which("nginx")
    if found:
        return found
    return DEFAULT_NGINX if os.access(DEFAULT_NGINX, os.X_OK) else None


def _globals() -> str:
    return "daemon off; user root;" if os.geteuid() == 0 else "daemon off;"


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Edge:
    """A running nginx edge: where to reach it and what it logged."""

    url: str
    port: int
    access_log: Path
    error_log: Path
    config: Path
    process: subprocess.Popen[bytes]
    _read: int = field(default=0, repr=False)

    def entries(self) -> list[dict[str, Any]]:
        """Every access-log entry so far (one JSON object per request, subrequests included)."""
        if not self.access_log.exists():
            return []
        return [json.loads(line) for line in self.access_log.read_text().splitlines() if line]

    def logged(self, uri_prefix: str, requests: int) -> list[dict[str, Any]]:
        """The entries under ``uri_prefix`` once the ``requests`` a test sent there are logged.

        nginx writes a request's line after the answer went out: a client can hold the whole
        response before its line exists, so a test that counts right after answers races the
        log (seen: one origin request counted of two, on a loaded machine)."""

        def settled() -> list[dict[str, Any]] | None:
            found = [e for e in self.entries() if e["uri"].startswith(uri_prefix)]
            return found if len(found) >= requests else None

        return eventually(settled, message=f"{requests} requests to {uri_prefix} never logged")

    def pids(self) -> list[int]:
        """The master and its workers (whose CPU time is the edge's cost)."""
        master = self.process.pid
        children = Path(f"/proc/{master}/task/{master}/children")
        try:
            workers = [int(p) for p in children.read_text().split()]
        except OSError:
            workers = []
        return [master, *workers]


def write_config(
    options: EdgeOptions, workdir: Path, render: Callable[[EdgeOptions], str] = render_config
) -> Path:
    """Render ``options`` into ``workdir/nginx.conf`` and create the directories it names."""
    for directory in directories(options):
        directory.mkdir(parents=True, exist_ok=True)
    path = workdir / "nginx.conf"
    path.write_text(render(options))
    return path


def check_config(binary: str, config: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` on ``config``; returncode 0 means nginx accepts it."""
    return subprocess.run(
        [binary, "-t", "-p", str(workdir), "-c", str(config), "-g", _globals()],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def edge_options(
    origin_url: str | Sequence[str],
    workdir: Path,
    port: int,
    workers: int = 1,
    buffered_log: bool = False,
    access_log: bool = True,
) -> EdgeOptions:
    """The options of an edge whose every file lives under ``workdir``.

    The access log is unbuffered by default so a test can read it at once; a benchmark
    buffers it as production would.
    """
    first, *more = [origin_url] if isinstance(origin_url, str) else origin_url
    return EdgeOptions(
        origin=parse_origin(first),
        more_origins=tuple(parse_origin(url) for url in more),
        listen=port,
        server_name="localhost",
        cache_dir=workdir / "cache",
        cache_size="256m",
        log_dir=workdir / "logs",
        pid_file=workdir / "nginx.pid",
        worker_processes=str(workers),
        buffered_log=buffered_log,
        access_log=access_log,
    )


@contextmanager
def running_edge(
    origin_url: str | Sequence[str],
    workdir: Path,
    *,
    workers: int = 1,
    binary: str | None = None,
    buffered_log: bool = False,
    access_log: bool = True,
    render: Callable[[EdgeOptions], str] = render_config,
    port: int | None = None,
) -> Iterator[Edge]:
    """nginx, configured by ``render`` (``render_config``: the LL-HLS edge) for ``origin_url``,
    on a free loopback port (or ``port``).

    Raises FileNotFoundError when nginx is not installed, RuntimeError when it will not start.
    """
    binary = binary or nginx_binary()
    if binary is None:
        raise FileNotFoundError("nginx is not installed (Debian: apt-get install nginx)")
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    options = edge_options(origin_url, workdir, port, workers, buffered_log, access_log)
    config = write_config(options, workdir, render)
    checked = check_config(binary, config, workdir)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t refused the rendered configuration:\n{checked.stderr}")
    stderr = (workdir / "nginx.stderr").open("wb")
    process = subprocess.Popen(
        [binary, "-p", str(workdir), "-c", str(config), "-g", _globals()],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    edge = Edge(
        url=f"http://127.0.0.1:{port}",
        port=port,
        access_log=options.log_dir / "access.log",
        error_log=options.log_dir / "error.log",
        config=config,
        process=process,
    )
    try:
        _wait_listening(edge, workdir)
        yield edge
    finally:
        process.terminate()  # SIGTERM: fast shutdown
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        stderr.close()


def _wait_listening(edge: Edge, workdir: Path) -> None:
    def failure() -> str:
        log = edge.error_log.read_text() if edge.error_log.exists() else ""
        stderr = (workdir / "nginx.stderr").read_text()
        return f"nginx did not start listening on {edge.port}:\n{stderr}\n{log}"

    def listening() -> bool:
        if edge.process.poll() is not None:
            raise RuntimeError(failure())  # it exited: nothing to wait for
        with socket.socket() as sock:
            sock.settimeout(0.2)
            return sock.connect_ex(("127.0.0.1", edge.port)) == 0

    try:
        eventually(listening, message=failure)
    except WaitTimeout as timeout:
        raise RuntimeError(str(timeout)) from None
