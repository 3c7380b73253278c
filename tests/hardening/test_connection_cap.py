"""Issue 14: a per-address cap on concurrent connections. One address may hold
``max_connections_per_address``; the next connection is answered 503 with Retry-After and
closed before anything is read, while every other address (and loopback, and trusted edges)
carries on."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack, closing
from pathlib import Path

import httpx
import pytest

from tests.support.network import network_address
from tests.support.server import RunningServer, run_server
from tests.support.wait import eventually

CAP = 4


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    # Reached from this machine's network address (loopback is not capped); idle connections
    # may wait longer than the test takes.
    with run_server(
        tmp_path, bind="0.0.0.0", max_connections_per_address=CAP, head_timeout_s=60
    ) as running:
        yield running


def _connect(address: str, port: int) -> socket.socket:
    return socket.create_connection((address, port), timeout=10)


def _livez(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /livez HTTP/1.1\r\nHost: majlis\r\n\r\n")
    return sock.recv(65536)


def test_an_address_holds_its_cap_of_connections_and_no_more(server: RunningServer) -> None:
    address = network_address()
    with ExitStack() as stack:
        held = [stack.enter_context(closing(_connect(address, server.port))) for _ in range(CAP)]
        over = stack.enter_context(closing(_connect(address, server.port)))
        refused = over.recv(65536)
        assert refused.startswith(b"HTTP/1.1 503 ")
        head, _, body = refused.partition(b"\r\n\r\n")
        assert b"retry-after: 5" in head.lower() and b"too-many-connections" in body
        assert over.recv(1) == b""  # and closed
        # The ones it holds still work, and so does loopback (not capped).
        assert _livez(held[0]).startswith(b"HTTP/1.1 200 ")
        assert httpx.get(f"http://127.0.0.1:{server.port}/livez").status_code == 200
        # Closing one gives the place back.
        held.pop().close()

        def served() -> bool:
            with closing(_connect(address, server.port)) as again:
                return _livez(again).startswith(b"HTTP/1.1 200 ")

        eventually(served, message="a closed connection never gave its place back")
