"""A private PostgreSQL server a test may crash and start again: never the machine's own.

Why its own server rather than a database on the machine's: a restart under test would cut every
other test's connections. ``initdb`` refuses to run as root, so as root (CI) the server runs as
the ``postgres`` user, in a directory of its own under /tmp (pytest's are private to root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.services import port_open, unavailable
from tests.support.wait import eventually


def _bin_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts[-3])
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PrivatePostgres:
    def __init__(self, port: int) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None:
            unavailable("PostgreSQL's initdb is not installed")
        assert bin_dir is not None
        self.port = port
        self._bin = bin_dir
        self._root = Path(tempfile.mkdtemp(prefix="majlis-pg-"))
        self._data = self._root / "data"
        self._as_root = os.geteuid() == 0
        if self._as_root:
            self._root.chmod(0o755)
            shutil.chown(self._root, "postgres", "postgres")
        self._run("initdb", "-D", str(self._data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        argv = [str(self._bin / tool), *args]
        if self._as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout}\n{done.stderr}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self._root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self._data),
            "-o",
            options,
            "-l",
            str(self._root / "log"),
            "-w",
            "start",
        )
        eventually(lambda: port_open("127.0.0.1", self.port), interval_s=0.05)

    def crash(self) -> None:
        """Stop as a crash would: every connection cut, no checkpoint (recovery on start)."""
        self._run("pg_ctl", "-D", str(self._data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):  # not running
            self._run("pg_ctl", "-D", str(self._data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self._root, ignore_errors=True)


@contextmanager
def private_postgres(port: int) -> Iterator[PrivatePostgres]:
    server = PrivatePostgres(port)
    try:
        server.start()
        yield server
    finally:
        server.remove()
