"""Admission control, per-IP limits and trusted proxies, against real servers.

Slots are held the way a slow backing service holds them: a request whose handler waits on the
database. The test takes a lock on the ``reminders`` table (in SHARE mode: writes wait, reads
do not), and each held request asks for a reminder, which waits in its slot until the lock goes.
(A client's slow body no longer holds a slot: the body is read before the request is counted,
tests/hardening/test_connection_limits.py.)
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from majlis.api.middleware.admission import Lane, RetryAfter, TokenBucket, lane_of, resolve_client
from tests.support.client import Api, problem_of, wait_for_live_stream
from tests.support.server import RunningServer, run_server
from tests.support.services import postgres_database
from tests.support.wait import eventually


class SlotHolder:
    """Requests that hold their work slots while the test holds a write lock on ``reminders``."""

    def __init__(self, server: RunningServer) -> None:
        self._dsn = server.settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
        self._server = server
        self._locked = threading.Event()
        self._release = threading.Event()
        self._lock_thread = threading.Thread(target=self._hold_lock, daemon=True)
        self._requests: list[threading.Thread] = []
        self._api = Api(server.base_url)
        self._host = self._api.sign_up("slots")
        self._space = self._host.schedule_space("Held")["id"]
        self._lock_thread.start()
        assert self._locked.wait(30), "the test could not lock the reminders table"

    def _hold_lock(self) -> None:
        async def hold() -> None:
            conn = await asyncpg.connect(self._dsn)
            try:
                async with conn.transaction():
                    await conn.execute("LOCK TABLE reminders IN SHARE MODE")
                    self._locked.set()
                    await asyncio.to_thread(self._release.wait)
            finally:
                await conn.close()

        asyncio.run(hold())

    def hold(self) -> None:
        """One more request that waits, in its work slot, until ``close``."""

        def ask() -> None:
            reply = self._host.post(f"/api/v1/spaces/{self._space}/reminder")
            assert reply.status_code == 204, reply.text

        thread = threading.Thread(target=ask, daemon=True)
        thread.start()
        self._requests.append(thread)

    def __enter__(self) -> SlotHolder:
        return self

    def __exit__(self, *_: object) -> None:
        self._release.set()
        self._lock_thread.join(30)
        for thread in self._requests:
            thread.join(30)
        self._api.close()


def wait_for_inflight(server: RunningServer, count: int) -> None:
    """Until the server's Admission middleware counts ``count`` requests in its work slots."""
    admission = _admission(server)

    def counted() -> bool:
        assert admission.inflight == count, f"in flight {admission.inflight}, wanted {count}"
        return True

    eventually(counted, interval_s=0.01)


def _admission(server: RunningServer) -> Any:
    app: Any = server.server.config.app
    stack = app.middleware_stack
    while stack is not None and type(stack).__name__ != "Admission":
        stack = getattr(stack, "app", None)
    assert stack is not None, "the Admission middleware is not installed"
    return stack


def assert_shed(response: httpx.Response) -> int:
    problem = problem_of(response, 503)
    assert problem["type"].endswith(":overloaded")
    retry_after = int(response.headers["retry-after"])
    assert retry_after >= 1
    return retry_after


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Two work slots, of which new arrivals may use only the first (on PostgreSQL, whose
    table locks hold the slots: see SlotHolder)."""
    data_dir: Path = tmp_path_factory.mktemp("admission")
    with (
        postgres_database() as url,
        run_server(data_dir, url, max_inflight=2, max_entry_inflight=1, max_joins_per_s=0) as srv,
    ):
        yield srv


def test_joins_are_shed_first_then_everything_but_the_probes(tight: RunningServer) -> None:
    api = Api(tight.base_url)
    space = api.sign_up("adm").create_space()
    joined = api.http.post(f"/api/v1/spaces/{space['id']}/join").json()
    heartbeat = joined["heartbeat_url"]
    with SlotHolder(tight) as holds:
        holds.hold()
        wait_for_inflight(tight, 1)
        # One slot busy: a new arrival is shed, the seated listener is still served.
        assert_shed(api.http.post(f"/api/v1/spaces/{space['id']}/join"))
        assert_shed(api.http.post("/api/v1/sessions", json={"handle": "x", "password": "y"}))
        assert api.http.post(heartbeat).status_code == 204
        assert api.http.get(f"/api/v1/spaces/{space['id']}/snapshot").status_code == 200
        holds.hold()
        wait_for_inflight(tight, 2)
        # Both busy: everyone is shed at once (decided before any body is read)...
        assert_shed(api.http.post(heartbeat))
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", tight.port)) as sock:
            sock.sendall(
                b"POST /api/v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                b"\r\nContent-Length: 5000\r\n\r\n"
            )
            reply = sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 503"), reply
        assert time.monotonic() - started < 2
        # ...but the liveness probe is exempt; a scrape is shed like any read.
        assert api.http.get("/livez").status_code == 200
        assert_shed(api.http.get("/metrics"))
    wait_for_inflight(tight, 0)
    assert api.http.post(f"/api/v1/spaces/{space['id']}/join").status_code == 200
    api.close()


def test_retry_after_is_jittered(tight: RunningServer) -> None:
    with httpx.Client(base_url=tight.base_url) as http, SlotHolder(tight) as holds:
        holds.hold()
        wait_for_inflight(tight, 1)
        values = [assert_shed(http.post("/api/v1/spaces/x/join")) for _ in range(30)]
    assert len(set(values)) > 1, values


def test_a_blocking_playlist_does_not_hold_a_work_slot(tight: RunningServer) -> None:
    api = Api(tight.base_url)
    space = api.sign_up("park").create_space()
    with httpx.Client(base_url=tight.base_url, timeout=15) as http:
        wait_for_live_stream(http, space["id"])
        playlist = http.get(f"/hls/{space['id']}/live.m3u8")
        assert playlist.status_code == 200
        assert _admission(tight).inflight == 0
    api.close()


def test_entry_budget_per_second(tmp_path: Path) -> None:
    with (
        run_server(tmp_path, max_joins_per_s=3) as srv,
        httpx.Client(base_url=srv.base_url) as http,
    ):
        api = Api(srv.base_url)
        space = api.sign_up("budget").create_space()
        api.close()
        # A token bucket refills with time itself: these sleeps are the refill under test.
        time.sleep(1.1)  # signing up spent tokens of the same budget; let it refill
        statuses = [http.post(f"/api/v1/spaces/{space['id']}/join").status_code for _ in range(12)]
        assert statuses.count(200) >= 2
        assert 503 in statuses
        time.sleep(1.1)  # refilled again: admitted
        assert http.post(f"/api/v1/spaces/{space['id']}/join").status_code == 200


def test_per_ip_limits_trust_forwarded_for_only_from_trusted_proxies(tmp_path: Path) -> None:
    limits: dict[str, Any] = {"joins_per_ip_per_min": 3, "heartbeats_per_ip_per_min": 2}
    for name in ("edge", "direct"):
        (tmp_path / name).mkdir()
    with run_server(tmp_path / "edge", trusted_proxies="127.0.0.0/8", **limits) as srv:
        api = Api(srv.base_url)
        space_id = api.sign_up("ip").create_space()["id"]
        join = f"/api/v1/spaces/{space_id}/join"

        def from_ip(ip: str) -> httpx.Response:
            return api.http.post(join, headers={"X-Forwarded-For": f"{ip}, 127.0.0.2"})

        assert [from_ip("203.0.113.7").status_code for _ in range(3)] == [200] * 3
        limited = from_ip("203.0.113.7")
        assert problem_of(limited, 429)["type"].endswith(":rate-limited")
        assert int(limited.headers["retry-after"]) >= 1
        assert from_ip("198.51.100.1").status_code == 200  # another listener behind the edge
        beat = from_ip("198.51.100.2").json()["heartbeat_url"]
        headers = {"X-Forwarded-For": "198.51.100.2"}
        assert [api.http.post(beat, headers=headers).status_code for _ in range(2)] == [204] * 2
        assert api.http.post(beat, headers=headers).status_code == 429
        api.close()
    with run_server(tmp_path / "direct", **limits) as srv:
        api = Api(srv.base_url)
        space_id = api.sign_up("ip").create_space()["id"]
        statuses = [
            api.http.post(
                f"/api/v1/spaces/{space_id}/join", headers={"X-Forwarded-For": f"192.0.2.{n}"}
            ).status_code
            for n in range(4)
        ]
        # Not from a trusted proxy: the header is ignored, all four are the same address.
        assert statuses == [200, 200, 200, 429]
        api.close()


def test_reactions_are_limited_per_ip_too(tmp_path: Path) -> None:
    with run_server(tmp_path, reactions_per_ip_per_10s=2) as srv:
        api = Api(srv.base_url)
        space_id = api.sign_up("host").create_space()["id"]
        fans = [api.sign_up("fan") for _ in range(3)]
        path = f"/api/v1/spaces/{space_id}/reactions"
        statuses = [fan.post(path, json={"emoji": "🔥"}).status_code for fan in fans]
        assert statuses == [202, 202, 429]  # three accounts, one address
        api.close()


def _scope(path: str, method: str = "GET", query: bytes = b"", **extra: Any) -> dict[str, Any]:
    return {"type": "http", "path": path, "method": method, "query_string": query, **extra}


def test_lanes() -> None:
    assert lane_of(_scope("/livez")) is None
    assert lane_of(_scope("/metrics")) is Lane.WORK
    assert lane_of(_scope("/api/v1/spaces/abc/join", "POST")) is Lane.ENTRY
    assert lane_of(_scope("/api/v1/sessions", "POST")) is Lane.ENTRY
    assert lane_of(_scope("/api/v1/accounts", "POST")) is Lane.ENTRY
    assert lane_of(_scope("/api/v1/spaces/abc/heartbeat", "POST")) is Lane.WORK
    assert lane_of(_scope("/hls/abc/live.m3u8")) is Lane.WORK
    assert lane_of(_scope("/hls/abc/live.m3u8", query=b"_HLS_msn=4&_HLS_part=1")) is Lane.PARKED
    assert lane_of(_scope("/dash/abc/aac/12.m4s")) is Lane.PARKED  # streamed as it grows
    assert lane_of(_scope("/dash/abc/live.mpd")) is Lane.WORK
    assert lane_of(_scope("/api/v1/spaces/abc/events")) is Lane.STREAM
    assert lane_of(_scope("/hls/abc/7.2.m4s")) is Lane.WORK


def test_forwarded_for_resolution() -> None:
    trusted = (ip_network("10.0.0.0/8"), ip_network("::1/128"))

    def client(peer: str, *forwarded: bytes) -> str:
        scope = {"client": (peer, 1234), "headers": [(b"x-forwarded-for", f) for f in forwarded]}
        resolve_client(scope, trusted)
        return str(scope["client"][0])

    assert client("10.1.1.1", b"203.0.113.9") == "203.0.113.9"
    # The client may send its own X-Forwarded-For: only the hop our edge appended counts.
    assert client("10.1.1.1", b"1.2.3.4, 203.0.113.9, 10.2.2.2") == "203.0.113.9"
    assert client("10.1.1.1", b"1.2.3.4", b"203.0.113.9") == "203.0.113.9"
    assert client("192.0.2.1", b"203.0.113.9") == "192.0.2.1"  # untrusted peer
    assert client("10.1.1.1", b"not-an-ip") == "10.1.1.1"
    assert client("::1", b"2001:db8::5") == "2001:db8::5"
    assert client("10.1.1.1") == "10.1.1.1"


def test_entry_bucket_and_adaptive_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("majlis.api.middleware.admission.time.monotonic", lambda: now[0])
    bucket = TokenBucket(5)
    assert [bucket.take() for _ in range(7)] == [True] * 5 + [False] * 2
    now[0] += 0.2
    assert bucket.take() and not bucket.take()
    retry = RetryAfter(2.0, capacity_per_s=10)
    assert all(1 <= retry.seconds() <= 3 for _ in range(2000))
    for _ in range(5):  # a crowd shed at 2,000/s, ten admitted per second
        now[0] += 1.0
        for _ in range(2000):
            retry.seconds()
    assert 10 < retry.base_s <= 60
    now[0] += 1.0
    retry.seconds()
    now[0] += 1.0
    retry.seconds()  # the crowd is gone: back towards the base
    assert retry.base_s < 10
