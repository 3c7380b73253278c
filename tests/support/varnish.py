"""Run a real varnishd with the VCL ``majlis edge-config --engine varnish`` renders: for tests,
benchmarks and rehearsals.

Everything varnishd writes (the VCL, its working directory with the shared-memory log and the
compiled VCL, its stderr) lives under one directory given as ``-n``, so several edges can run side
by side and ``varnishstat -n``/``varnishlog -n`` find each. It runs in the foreground (``-F``) as
a child we can signal, with the command line ``varnishd_argv`` prints for operators, bound to
loopback; as root it would switch to the ``varnish`` user, which cannot enter a test's temporary
directory, so it keeps ours (``-j none``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from majlis.delivery.edge import parse_origin
from majlis.delivery.varnish import VarnishOptions, render_vcl, varnishd_argv
from tests.support.wait import WaitTimeout, eventually

DEFAULT_VARNISHD = "/usr/sbin/varnishd"


def varnishd_binary() -> str | None:
    """The varnishd executable (PATH first, then Debian's location), or None if there is none."""
    found = shutil.which("varnishd")
    if found:
        return found
    return DEFAULT_VARNISHD if os.access(DEFAULT_VARNISHD, os.X_OK) else None


def _sibling(binary: str, name: str) -> str:
    """varnishstat/varnishadm: on PATH, else beside varnishd's directory's bin."""
    found = shutil.which(name)
    if found:
        return found
    for directory in (Path(binary).parent, Path("/usr/bin")):
        if os.access(directory / name, os.X_OK):
            return str(directory / name)
    raise FileNotFoundError(f"{name} is not installed (Debian package varnish)")


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def edge_options(origin_url: str | Sequence[str], port: int) -> VarnishOptions:
    first, *more = [origin_url] if isinstance(origin_url, str) else origin_url
    return VarnishOptions(
        origin=parse_origin(first),
        more_origins=tuple(parse_origin(url) for url in more),
        listen=port,
        bind="127.0.0.1",
        cache_size="64m",
    )


def check_vcl(binary: str, vcl: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    """``varnishd -C``: compile ``vcl`` to C; returncode 0 means Varnish accepts it. (As root
    varnishd would read the file as the ``varnish`` user: ``-j none`` keeps ours.)"""
    return subprocess.run(
        [binary, "-C", "-f", str(vcl), "-n", str(workdir), "-j", "none"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@dataclass
class VarnishEdge:
    """A running varnishd edge: where to reach it, and its counters."""

    url: str
    port: int
    workdir: Path
    vcl: Path
    process: subprocess.Popen[bytes]
    binary: str

    def counters(self, *names: str) -> dict[str, int]:
        """``varnishstat -1`` values, e.g. ``MAIN.backend_req`` (requests sent to the origin)."""
        fields = [arg for name in names for arg in ("-f", name)]
        done = subprocess.run(
            [_sibling(self.binary, "varnishstat"), "-n", str(self.workdir), "-j", *fields],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        document = json.loads(done.stdout)
        found = document.get("counters", document)  # 7.x nests them under "counters"
        return {name: int(found[name]["value"]) for name in names if name in found}

    def backend_requests(self) -> int:
        return self.counters("MAIN.backend_req").get("MAIN.backend_req", 0)

    def stderr(self) -> str:
        path = self.workdir / "varnishd.stderr"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def running_varnish(
    origin_url: str | Sequence[str], workdir: Path, *, binary: str | None = None
) -> Iterator[VarnishEdge]:
    """varnishd with ``render_vcl`` for ``origin_url`` on a free loopback port.

    Raises FileNotFoundError when Varnish is not installed, RuntimeError when it will not start.
    """
    binary = binary or varnishd_binary()
    if binary is None:
        raise FileNotFoundError("varnishd is not installed (Debian: apt-get install varnish)")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    options = edge_options(origin_url, port)
    vcl = workdir / "edge.vcl"
    vcl.write_text(render_vcl(options))
    argv = [binary, *varnishd_argv(options, str(vcl))[1:], "-n", str(workdir), "-j", "none"]
    with (workdir / "varnishd.stderr").open("wb") as stderr:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr)
    edge = VarnishEdge(f"http://127.0.0.1:{port}", port, workdir, vcl, process, binary)
    try:
        _wait_serving(edge)
        yield edge
    finally:
        process.terminate()  # the manager stops its child and exits
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_serving(edge: VarnishEdge) -> None:
    """Until the child answers: the manager binds the port before the child runs, so a TCP
    connect proves nothing; ``varnishadm status`` says when the child is running."""
    admin = _sibling(edge.binary, "varnishadm")

    def failure() -> str:
        return f"varnishd did not start serving on {edge.port}:\n{edge.stderr()}"

    def running() -> bool:
        if edge.process.poll() is not None:
            raise RuntimeError(failure())  # it exited: nothing to wait for
        status = subprocess.run(
            [admin, "-n", str(edge.workdir), "-t", "2", "status"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return "running" in status.stdout

    try:
        eventually(running, message=failure)
    except WaitTimeout as timeout:
        raise RuntimeError(str(timeout)) from None
