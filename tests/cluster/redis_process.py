"""A private ``redis-server`` a test may stop and restart: never the machine's own Redis."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.services import port_open, unavailable


def start_redis(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    """``redis-server`` on ``port`` without persistence, once it accepts connections."""
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not installed")
    assert binary is not None
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not port_open("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"redis-server did not start on port {port}")
        time.sleep(0.02)
    return process


def stop_redis(process: subprocess.Popen[bytes]) -> None:
    """Kill it as a crash would (no goodbye to clients) and reap it."""
    process.kill()
    process.wait(timeout=10)


@contextmanager
def private_redis(port: int, workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = start_redis(port, workdir)
    try:
        yield process
    finally:
        if process.poll() is None:
            stop_redis(process)
