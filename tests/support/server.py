"""A real majlis server (uvicorn on a loopback port) running in a background thread."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn

from majlis.app import create_app
from majlis.config import Settings
from majlis.http_limits import limited_http

T = TypeVar("T")

#: Limits high enough that a test suite creating hundreds of accounts is not throttled;
#: tests of the limits themselves start a server with the real ones.
TEST_SETTINGS: dict[str, Any] = {
    "kdf_profile": "test-cheapest",
    "signup_per_ip_per_min": 100_000,
    "signin_per_ip_per_min": 100_000,
    "joins_per_ip_per_min": 1_000_000,
    "heartbeats_per_ip_per_min": 1_000_000,
    "reactions_per_ip_per_10s": 1_000_000,
    "log_level": "warning",
}


class RunningServer:
    def __init__(
        self,
        settings: Settings,
        server: uvicorn.Server,
        port: int,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.settings = settings
        self.server = server
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.loop = loop

    @property
    def services(self) -> Any:
        return self.server.config.app.state.services

    def call(self, work: Coroutine[Any, Any, T], timeout_s: float = 30) -> T:
        """Run ``work`` on the server's own event loop (its services are bound to it)."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout_s)

    def unended_spaces(self) -> set[str]:
        """The Spaces that are live or scheduled (a scheduled one may open its doors)."""

        async def unended() -> set[str]:
            found: set[str] = set()
            for state in ("live", "scheduled"):
                cursor = None
                while True:
                    page = await self.services.spaces.page(state, cursor, 100)
                    found.update(space.id for space in page.items)
                    if page.next_cursor is None:
                        break
                    cursor = page.next_cursor
            return found

        return self.call(unended())

    def end_spaces(self, space_ids: set[str], timeout_s: float = 10) -> None:
        """End these Spaces as their hosts would, then wait until their rooms have closed
        (rooms still opening included: the plane handles each Space's events in order)."""

        async def end() -> None:
            for space_id in space_ids:
                space = await self.services.spaces.get(space_id)
                if space.state != "ended":
                    await self.services.spaces.end(space.host, space_id)

        self.call(end())
        media = self.services.media
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and space_ids & (set(media.rooms) | set(media.opening)):
            time.sleep(0.05)


#: For a long real-time media test (seconds of audio, heard or decoded) whose subject is the
#: media plane, which is the same in both deployment shapes: the embedded shape (SQLite) runs in
#: the default suite, the distributed one (PostgreSQL + Redis) in CI only (``slow``).
EMBEDDED_FAST_DISTRIBUTED_SLOW = pytest.mark.parametrize(
    "server", ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)], indirect=True
)

#: The in-process servers running now, so that every test can leave them as it found them.
RUNNING: list[RunningServer] = []


def query(server: RunningServer, statement: Any) -> list[Any]:
    """Read the server's database directly, from the test's own connection."""
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    async def read() -> list[Any]:
        engine = create_async_engine(server.settings.resolved_database_url())
        try:
            async with engine.connect() as conn:
                return list((await conn.execute(statement)).scalars())
        finally:
            await engine.dispose()

    return asyncio.run(read())


@contextmanager
def run_server(
    data_dir: Path, database_url: str = "", bind: str = "127.0.0.1", **overrides: Any
) -> Iterator[RunningServer]:
    """A node on a free port of ``bind`` (loopback; "0.0.0.0" to be reached from this
    machine's network address too), in a thread of this process."""
    sock = socket.socket()
    sock.bind((bind, 0))
    port = sock.getsockname()[1]
    # Other nodes of a test cluster reach this one here (a 307 for WHIP names it).
    overrides.setdefault("node_url", f"http://127.0.0.1:{port}")
    settings = Settings(
        data_dir=data_dir, database_url=database_url, **{**TEST_SETTINGS, **overrides}
    ).validated()
    config = uvicorn.Config(
        create_app(settings),
        log_level=settings.log_level,
        lifespan="on",
        timeout_graceful_shutdown=2,
        proxy_headers=False,  # as `majlis serve`: X-Forwarded-For is for MAJLIS_TRUSTED_PROXIES
        http=limited_http(
            settings.max_head_bytes,
            settings.head_timeout_s,
            settings.max_connections_per_address,
            settings.trusted_networks(),
        ),  # as `majlis serve`
    )
    server = uvicorn.Server(config)
    loops: list[asyncio.AbstractEventLoop] = []

    async def serve() -> None:
        loops.append(asyncio.get_running_loop())
        await server.serve(sockets=[sock])

    def run() -> None:  # as uvicorn.Server.run, keeping hold of the loop
        with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
            runner.run(serve())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    running = RunningServer(settings, server, port, loops[0])
    RUNNING.append(running)
    try:
        yield running
    finally:
        RUNNING.remove(running)
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_process(
    data_dir: Path,
    port: int,
    *args: str,
    command: str = "serve",
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """``majlis serve`` (or another command) as its own process, once it answers /readyz.

    Output goes to ``data_dir/<command>.log``, which the failure message shows.
    """
    import os
    import sys

    import httpx
    import pytest

    from tests.support.client import TLS

    # Test clients all come from 127.0.0.1: the per-IP listener limits as in TEST_SETTINGS,
    # unless the environment sets them.
    limits = {f"MAJLIS_{k.upper()}": str(v) for k, v in TEST_SETTINGS.items() if "_per_ip_" in k}
    env = {
        **limits,
        **os.environ,
        "MAJLIS_KDF_PROFILE": "test-cheapest",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    log = data_dir / f"{command}.log"
    argv = [
        sys.executable,
        "-m",
        "majlis",
        command,
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    with log.open("ab") as out:
        process = subprocess.Popen([*argv, *args], env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    # One client for the whole wait: a client per poll cost its TLS context each time.
    with httpx.Client(verify=TLS) as http:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if http.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    return process
            except httpx.TransportError:
                pass
            time.sleep(0.1)  # the poll interval while it starts (not yet ready, or a 503)
    process.kill()
    pytest.fail(f"majlis {command} did not become ready:\n{log.read_text()}")
