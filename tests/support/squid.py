"""Run a real Squid with the configuration ``majlis edge-config --engine squid`` renders: for
tests, benchmarks and rehearsals.

It runs in the foreground (``-N``) as a child we can signal, with the command line
``squid_argv`` prints for operators, bound to loopback on a free port, its logs and pid file in
one directory of its own. As root Squid switches to the ``proxy`` user, which cannot enter a
test's temporary directory (pytest's are private to root), so that directory is made under the
system's temporary directory and given to ``proxy``.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from majlis.delivery.edge import parse_origin
from majlis.delivery.squid import SquidOptions, render_config, squid_argv
from tests.support.varnish import free_port
from tests.support.wait import WaitTimeout, eventually

DEFAULT_SQUID = "/usr/sbin/squid"
#: Squid's user when started as root (the Debian package's).
USER = "proxy"


def squid_binary() -> str | None:
    """The squid executable (PATH first, then Debian's location), or None if there is none."""
    found = shutil.which("squid")
    if found:
        return found
    return DEFAULT_SQUID if os.access(DEFAULT_SQUID, os.X_OK) else None


def edge_options(
    origin_url: str | Sequence[str], port: int, workdir: Path, *, access_log: bool = False
) -> SquidOptions:
    first, *more = [origin_url] if isinstance(origin_url, str) else origin_url
    return SquidOptions(
        origin=parse_origin(first),
        more_origins=tuple(parse_origin(url) for url in more),
        listen=port,
        bind="127.0.0.1",
        cache_size="64m",
        access_log=access_log,
        log_dir=workdir,
        pid_file=workdir / "squid.pid",
    )


def check_config(binary: str, conf: Path) -> subprocess.CompletedProcess[str]:
    """``squid -k parse``: returncode 0 means Squid accepts the file."""
    return subprocess.run(
        [binary, "-k", "parse", "-f", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@contextmanager
def squid_workdir(prefix: str = "majlis-squid-") -> Iterator[Path]:
    """A fresh directory Squid can write in, whoever it runs as; removed afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        if os.geteuid() == 0:
            user = pwd.getpwnam(USER)
            os.chown(workdir, user.pw_uid, user.pw_gid)
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class SquidEdge:
    """A running Squid edge: where to reach it, its counters and its logs."""

    url: str
    port: int
    workdir: Path
    conf: Path
    process: subprocess.Popen[bytes]

    def counters(self) -> dict[str, float]:
        """The cache manager's counters (``server.http.requests``: requests sent to origins)."""
        text = httpx.get(f"{self.url}/squid-internal-mgr/counters", timeout=10).text
        found = re.findall(r"^([\w.]+) = ([\d.]+)$", text, re.MULTILINE)
        return {name: float(value) for name, value in found}

    def in_flight(self, path: str) -> int:
        """Client requests for ``path`` Squid is serving now (the manager's active_requests)."""
        text = httpx.get(f"{self.url}/squid-internal-mgr/active_requests", timeout=10).text
        return len(re.findall(rf"^uri \S+://[^/\s]+{re.escape(path)}$", text, re.MULTILINE))

    def origin_fetches(self) -> int:
        return int(self.counters()["server.http.requests"])

    def access_log(self) -> list[str]:
        """The access log's lines (``access_log=True``): ``TCP_MISS/200 ... FIRSTUP_PARENT/...``."""
        path = self.workdir / "access.log"
        return path.read_text(errors="replace").splitlines() if path.exists() else []

    def log(self) -> str:
        parts = (self.workdir / name for name in ("squid.stderr", "cache.log"))
        return "\n".join(p.read_text(errors="replace") for p in parts if p.exists())


@contextmanager
def running_squid(
    origin_url: str | Sequence[str],
    *,
    access_log: bool = False,
    binary: str | None = None,
) -> Iterator[SquidEdge]:
    """Squid with ``render_config`` for ``origin_url`` on a free loopback port.

    Raises FileNotFoundError when Squid is not installed, RuntimeError when it will not start.
    """
    binary = binary or squid_binary()
    if binary is None:
        raise FileNotFoundError("squid is not installed (Debian: apt-get install squid)")
    with squid_workdir() as workdir:
        port = free_port()
        conf = workdir / "squid.conf"
        options = edge_options(origin_url, port, workdir, access_log=access_log)
        conf.write_text(render_config(options))
        with squid_process(binary, conf, port) as edge:
            yield edge


@contextmanager
def squid_process(binary: str, conf: Path, port: int) -> Iterator[SquidEdge]:
    """``squid_argv`` on ``conf`` (which listens on loopback ``port`` and keeps its logs in the
    file's directory), until it serves; stopped afterwards."""
    argv = [binary, *squid_argv(str(conf))[1:]]
    with (conf.parent / "squid.stderr").open("wb") as stderr:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr)
    edge = SquidEdge(f"http://127.0.0.1:{port}", port, conf.parent, conf, process)
    try:
        _wait_serving(edge)
        yield edge
    finally:
        process.terminate()  # shutdown_lifetime 1 s, then it exits
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_serving(edge: SquidEdge) -> None:
    """Until Squid answers its cache manager: the port accepts once Squid has read its
    configuration and opened its memory cache."""

    def failure() -> str:
        return f"squid did not start serving on {edge.port}:\n{edge.log()}"

    def serving() -> bool:
        if edge.process.poll() is not None:
            raise RuntimeError(failure())  # it exited: nothing to wait for
        try:
            return "server.http.requests" in edge.counters()
        except httpx.HTTPError:
            return False

    try:
        eventually(serving, message=failure)
    except WaitTimeout as timeout:
        raise RuntimeError(str(timeout)) from None
