"""A private ``redis-server`` a test may stop and restart: never the machine's own Redis."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.services import port_open, unavailable
from tests.support.wait import WaitTimeout, eventually


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

    def accepting() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited (status {process.returncode})")
        return port_open("127.0.0.1", port)

    try:
        eventually(accepting, interval_s=0.02)
    except (WaitTimeout, RuntimeError) as failed:
        process.kill()
        raise RuntimeError(f"redis-server did not start on port {port}: {failed}") from None
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
