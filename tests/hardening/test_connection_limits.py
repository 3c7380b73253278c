"""Issue 14, findings 1 and 2: one client cannot take a node down with its connections.

- 262 connections that send a head and ``{`` of a declared 1,000-byte body, and hold it, used
  to fill every work slot (256): everyone else's join, sign-in and playlist got 503. Bodies are now
  read before admission counts a request (api/middleware/guards.py); a stalled body gets 408.
- A 100 MB header used to be read whole (the node grew 142 MiB, its loop stalled 5 s). A head is
  now refused with 431 once it passes ``max_head_bytes`` (http_limits.py), and a head that does
  not arrive within ``head_timeout_s`` gets 408.

Raw sockets throughout: an HTTP client would not send a broken request on purpose.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support.client import PASSWORD, Api
from tests.support.server import RunningServer, run_server

#: The probe's count: more than the node's 256 work slots (and its 128 entry slots).
PARTIAL_BODIES = 262


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    # The default limits (256 work slots, 128 for entries), a short body timeout for the test.
    with run_server(tmp_path, body_timeout_s=3.0, head_timeout_s=1.0) as running:
        yield running


@contextmanager
def _connected(server: RunningServer) -> Iterator[socket.socket]:
    with closing(socket.create_connection(("127.0.0.1", server.port), timeout=15)) as sock:
        yield sock


def _response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one whole response (the server closes the connection after these answers)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def test_partial_bodies_hold_no_work_slot_and_get_408(server: RunningServer) -> None:
    api = Api(server.base_url)
    host = api.sign_up("host")
    space = host.create_space("Still open to everyone")
    join = f"/api/v1/spaces/{space['id']}/join"
    with ExitStack() as stack:
        stalled = [stack.enter_context(_connected(server)) for _ in range(PARTIAL_BODIES)]
        for sock in stalled:  # a route whose handler reads its body (as sign-in's does)
            sock.sendall(
                b"POST /api/v1/spaces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n{"
            )
        # Everyone else is served meanwhile: sign-in and join (entry lane), a snapshot.
        with closing(httpx.Client(base_url=server.base_url, timeout=10)) as other:
            signin = other.post(
                "/api/v1/sessions", json={"handle": host.handle, "password": PASSWORD}
            )
            assert signin.status_code in (200, 201), signin.text
            assert other.post(join, json={}).status_code == 200
            assert other.get(f"/api/v1/spaces/{space['id']}").status_code == 200
        # The stalled bodies are answered once their time is up, and closed.
        for sock in stalled:
            status, headers, body = _response(sock)
            assert status == 408
            assert headers["content-type"] == "application/problem+json"
            assert orjson.loads(body)["status"] == 408
    api.close()


def test_a_header_past_the_limit_is_431_at_once_and_the_node_keeps_its_memory(
    server: RunningServer,
) -> None:
    """Four 100 MB headers at once, as the probe sent: each is refused after ~32 KiB."""
    before = _rss_bytes()
    chunk = b"a" * 65536
    with ExitStack() as stack:
        socks = [stack.enter_context(_connected(server)) for _ in range(4)]
        sent = [0] * len(socks)
        for sock in socks:
            sock.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: ")
        open_socks = set(range(len(socks)))
        while open_socks and max(sent) < 100 * 1024 * 1024:
            for i in list(open_socks):
                try:
                    socks[i].sendall(chunk)
                    sent[i] += len(chunk)
                except OSError:  # refused and closed: the rest is not read
                    open_socks.discard(i)
        assert not open_socks, f"a 100 MB header was read whole: {sent}"
        assert max(sent) < 8 * 1024 * 1024, sent  # what the kernel buffered, not the node
        for sock in socks:
            status, _, body = _read_refusal(sock)
            assert status == 431
            assert orjson.loads(body)["detail"].startswith("the request line and headers")
    assert _rss_bytes() - before < 32 * 1024 * 1024
    assert httpx.get(f"{server.base_url}/livez").status_code == 200


def test_a_head_that_does_not_arrive_in_time_is_408_and_an_idle_socket_is_closed(
    server: RunningServer,
) -> None:
    with _connected(server) as idle:
        started = time.monotonic()
        assert idle.recv(1) == b""  # closed by the node, nothing said: nothing was asked
        assert time.monotonic() - started < 10
    with _connected(server) as slow:
        slow.sendall(b"GET /livez HTTP/1.1\r\n")  # and never the rest
        status, _, body = _response(slow)
        assert status == 408
        assert "arrive within 1 s" in orjson.loads(body)["detail"]
    # A request on time is not affected, nor are several on one kept-alive connection.
    with closing(httpx.Client(base_url=server.base_url)) as client:
        for _ in range(3):
            assert client.get("/livez").status_code == 200


def _read_refusal(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """The refusal, which may have been cut off by a reset if our unsent bytes were pending."""
    try:
        return _response(sock)
    except ConnectionResetError:
        pytest.fail("the node reset the connection before its 431 could be read")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096
