"""The majlis side of a server comparison: ``majlis serve`` pinned to the servers' core, and a
live Space whose speaker bot sends a tone, so the origin encodes at its real bitrate.

Icecast2's side is ``icecast.py``; ``listeners_vs_icecast.py`` and ``listener_feed.py`` run both
kinds of server on core 0 and their sources and load generators on core 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from majlis.bots.sources import ToneSource
from majlis.bots.speaker import SpeakerBot
from tests.support.nginx import free_port

SERVER_CPU, LOAD_CPU = 0, 1


@contextlib.contextmanager
def origin_process(workdir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``majlis serve`` on ``SERVER_CPU`` with a cheap password hash, ready when yielded: its URL
    and process (whose CPU time is the origin's cost)."""
    port = free_port()
    env = {**os.environ, "MAJLIS_KDF_PROFILE": "test-cheapest", "MAJLIS_LOG_LEVEL": "warning"}
    log = (workdir / "origin.log").open("wb")
    process = subprocess.Popen(
        [
            *("taskset", "-c", str(SERVER_CPU), sys.executable, "-m", "majlis", "serve"),
            *("--port", str(port), "--data-dir", str(workdir / "data")),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"majlis serve did not start; see {workdir}/origin.log")
            time.sleep(0.2)
        yield url, process
    finally:
        process.terminate()
        process.wait(15)
        log.close()


@contextlib.contextmanager
def live_space(origin: str) -> Iterator[tuple[str, str]]:
    """A live Space with a speaker bot sending a tone (so the AAC runs at its real bitrate)."""
    with httpx.Client(base_url=origin, timeout=30) as http:
        handle = f"bench_{os.getpid()}"
        body = {"handle": handle, "password": "bench password 1", "display_name": "Bench"}
        assert http.post("/api/v1/accounts", json=body).status_code == 201
        login = {"handle": handle, "password": body["password"]}
        token = http.post("/api/v1/sessions", json=login).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        space = http.post("/api/v1/spaces", json={"title": "Bench"}, headers=auth).json()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    bot = SpeakerBot(origin, space["id"], token, ToneSource(440))
    asyncio.run_coroutine_threadsafe(bot.connect(), loop).result(30)
    try:
        yield str(space["hls_url"]), str(space["dash_url"])
    finally:
        asyncio.run_coroutine_threadsafe(bot.close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
