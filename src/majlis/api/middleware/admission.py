"""Admission control: every node refuses work it cannot do in time, before doing any of it.

Why: under a surge (a million people pressing "listen" in the same minute) a node that accepts
everything queues everything, and every request then waits long enough to time out and retry:
the node is busy and nobody is served. A node that says "503, come back in N seconds" to the
excess, at once, keeps serving the ones it admitted within their deadlines.

How (pure ASGI, outermost, so a shed request costs one dict lookup and a pre-encoded reply, and
is decided before its body is read):

- Lanes. Requests of people already in the room (heartbeat, snapshot, parts, stage actions,
  WHIP) take a *work* slot, up to ``max_inflight``. New arrivals (join, sign-in, sign-up) take a
  work slot too, but only while fewer than ``max_entry_inflight`` are in flight and the per-second
  *entry budget* has a token: they are shed first, so the seated audience keeps being served.
  Blocking playlist requests (parked on an ``asyncio.Event``) and event streams hold no work
  slot; each kind has its own bound. /livez and /metrics are exempt. Which lane a request
  takes is its route's class in the one route table (api/route_table.py), matched once.
- No queue: the only state is a few counters, so memory is bounded at any arrival rate.
- Retry-After is jittered (+-50 %) so a shed crowd does not come back in one wave, and its base
  grows with the crowd: with W clients waiting and C admitted per second, retrying every
  sqrt(W/C) seconds keeps the retry traffic near sqrt(W*C) instead of W/2 per second.
"""

from __future__ import annotations

import functools
import math
import random
import time
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from ipaddress import IPv4Network, IPv6Network, ip_address

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from majlis.api.responses import PROBLEM_TYPE
from majlis.api.route_table import RouteClass, class_of
from majlis.config import Settings
from majlis.telemetry import ADMISSION, INFLIGHT, INFLIGHT_LIMIT, PARKED

#: ``(scope, receive, send) -> receive`` to use, or None when it answered the request itself.
BeforeSlot = Callable[[Scope, Receive, Send], Awaitable[Receive | None]]

#: Every Admission of this process (tests run several nodes in one), read at scrape time: the
#: gauges cost nothing per request.
_NODES: weakref.WeakSet[Admission] = weakref.WeakSet()
_ADMITTED = ADMISSION.labels("admitted")
_SHED = ADMISSION.labels("shed")
#: The longest Retry-After we hand out; beyond it a client would rather see a message.
MAX_RETRY_AFTER_S = 60.0


class Lane(Enum):
    WORK = "work"
    ENTRY = "entry"
    PARKED = "parked"
    STREAM = "stream"


#: What each class of route (api/route_table.py) counts against; a method no route serves
#: (``None``: the router answers 404 or 405) takes a work slot like any short request.
_LANES: dict[RouteClass | None, Lane | None] = {
    **dict.fromkeys(RouteClass, Lane.WORK),
    None: Lane.WORK,
    RouteClass.PROBE: None,
    RouteClass.ENTRY: Lane.ENTRY,
    # Waits on the stream (a segment streamed as it grows); so does a blocking reload, below.
    RouteClass.GROWING_SEGMENT: Lane.PARKED,
    RouteClass.EVENT_STREAM: Lane.STREAM,
    RouteClass.INBOX_STREAM: Lane.STREAM,
}


def lane_of(scope: Scope) -> Lane | None:
    """Which bound a request counts against; ``None`` for the exempt probes."""
    route_class = class_of(scope)
    if route_class is RouteClass.BLOCKING_RELOAD and b"_HLS_msn=" in scope.get("query_string", b""):
        return Lane.PARKED
    return _LANES[route_class]


@dataclass(frozen=True)
class Limits:
    max_inflight: int
    max_entry_inflight: int
    max_entries_per_s: float
    max_parked: int
    max_streams: int
    retry_after_s: float
    max_streams_per_client: int = 32

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_inflight=settings.max_inflight,
            max_entry_inflight=settings.max_entry_inflight,
            max_entries_per_s=settings.max_joins_per_s,
            max_parked=settings.max_parked_requests,
            max_streams=settings.max_streams,
            retry_after_s=settings.retry_after_s,
            max_streams_per_client=settings.max_streams_per_client,
        )


class TokenBucket:
    """``rate`` tokens per second, at most one second's worth saved up; rate 0 = unlimited."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._capacity = max(1.0, rate)
        self._tokens = self._capacity
        self._at = time.monotonic()

    def take(self) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


class RetryAfter:
    """The jittered Retry-After, its base following the size of the crowd being shed.

    Once a second the base moves to sqrt(base x shed_per_s / admitted_per_s): the fixed point of
    "the waiting crowd W retries every base seconds" is base = sqrt(W / C), and the square root of
    the product damps the oscillation a direct update would have.
    """

    def __init__(self, base_s: float, capacity_per_s: float) -> None:
        self.min_s = base_s
        self.base_s = base_s
        self._capacity = max(1.0, capacity_per_s)
        self._window_start = time.monotonic()
        self._shed = 0

    def seconds(self) -> int:
        now = time.monotonic()
        elapsed = now - self._window_start
        if elapsed >= 1.0:
            shed_per_s = self._shed / elapsed
            target = math.sqrt(self.base_s * shed_per_s / self._capacity)
            self.base_s = min(MAX_RETRY_AFTER_S, max(self.min_s, target))
            self._window_start, self._shed = now, 0
        self._shed += 1
        return max(1, round(self.base_s * random.uniform(0.5, 1.5)))  # jitter, not secrets


_SHED_BODY = orjson.dumps(
    {
        "type": PROBLEM_TYPE + "overloaded",
        "title": "Busy, try again shortly",
        "status": 503,
        "detail": "this server is at capacity right now; try again after Retry-After seconds",
    }
)
_SHED_HEADERS = [
    (b"content-type", b"application/problem+json"),
    (b"content-length", str(len(_SHED_BODY)).encode()),
    (b"cache-control", b"no-store"),
]


class Admission:
    """The outermost middleware: resolves the client address, then admits or sheds."""

    def __init__(
        self,
        app: ASGIApp,
        limits: Limits,
        trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = (),
        before_slot: BeforeSlot | None = None,
    ) -> None:
        self.app = app
        self.limits = limits
        #: Work between admitting a request and counting it in a slot: reading its body
        #: (guards.BodyFirst), so a body that never comes holds a connection, not a slot.
        self.before_slot = before_slot
        self.trusted = trusted_proxies
        self.inflight: int = 0
        self.parked = {Lane.PARKED: 0, Lane.STREAM: 0}
        #: Open event streams by client address (behind trusted edges, the listener's own).
        self.streams_of: Counter[str] = Counter()
        self._bounds = {Lane.PARKED: limits.max_parked, Lane.STREAM: limits.max_streams}
        self._entries = TokenBucket(limits.max_entries_per_s)
        self._retry_after = RetryAfter(
            limits.retry_after_s, limits.max_entries_per_s or limits.max_inflight
        )
        INFLIGHT_LIMIT.set(limits.max_inflight)
        _NODES.add(self)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.trusted:
            resolve_client(scope, self.trusted)
        lane = lane_of(scope)
        if lane is None:
            await self.app(scope, receive, send)
        elif lane is Lane.WORK or lane is Lane.ENTRY:
            await self._work(lane, scope, receive, send)
        else:
            await self._parked(lane, scope, receive, send)

    async def _work(self, lane: Lane, scope: Scope, receive: Receive, send: Send) -> None:
        # Decided before any body is read: a full node sheds at once, whatever the body.
        if not (self._room_in(lane) and (lane is not Lane.ENTRY or self._entries.take())):
            await self._shed(send)
            return
        if self.before_slot is not None:
            replay = await self.before_slot(scope, receive, send)
            if replay is None:
                return  # answered already (408, 413, ...), or the client left
            receive = replay
            if not self._room_in(lane):  # the slots filled while the body arrived
                await self._shed(send)
                return
        _ADMITTED.inc()
        self.inflight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.inflight -= 1

    def _room_in(self, lane: Lane) -> bool:
        bound = self.limits.max_entry_inflight if lane is Lane.ENTRY else self.limits.max_inflight
        return self.inflight < bound

    async def _parked(self, lane: Lane, scope: Scope, receive: Receive, send: Send) -> None:
        if self.parked[lane] >= self._bounds[lane]:
            await self._shed(send)
            return
        if lane is Lane.STREAM:
            await self._stream(scope, receive, send)
            return
        _ADMITTED.inc()
        self.parked[lane] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.parked[lane] -= 1

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An event stream, within the node's bound and the client's share of it."""
        client = scope["client"][0] if scope.get("client") else ""
        if self.streams_of[client] >= self.limits.max_streams_per_client:
            await _too_many_streams(send, self.limits.max_streams_per_client)
            return
        _ADMITTED.inc()
        self.parked[Lane.STREAM] += 1
        self.streams_of[client] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.parked[Lane.STREAM] -= 1
            self.streams_of[client] -= 1
            if not self.streams_of[client]:
                del self.streams_of[client]

    async def _shed(self, send: Send) -> None:
        _SHED.inc()
        retry_after = str(self._retry_after.seconds()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [*_SHED_HEADERS, (b"retry-after", retry_after)],
            }
        )
        await send({"type": "http.response.body", "body": _SHED_BODY})


async def _too_many_streams(send: Send, share: int) -> None:
    """429, not 503: the node has room, this client has used its share."""
    body = orjson.dumps(
        {
            "type": PROBLEM_TYPE + "too-many-streams",
            "title": "Too many open event streams",
            "status": 429,
            "detail": f"this address holds {share} event streams already; close one first",
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                (b"retry-after", b"10"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _inflight_now() -> float:
    return sum(node.inflight for node in list(_NODES))


def _parked_now(lane: Lane) -> float:
    return sum(node.parked[lane] for node in list(_NODES))


INFLIGHT.set_function(_inflight_now)
for _lane in (Lane.PARKED, Lane.STREAM):
    PARKED.labels(_lane.value).set_function(functools.partial(_parked_now, _lane))


def resolve_client(scope: Scope, trusted: tuple[IPv4Network | IPv6Network, ...]) -> None:
    """Behind an edge, the client is the right-most X-Forwarded-For address that is not one
    of our proxies. Believed only when the peer itself is a trusted proxy; otherwise anyone
    could claim any address and walk around the per-IP limits."""
    client = scope.get("client")
    if not client or not _is_trusted(client[0], trusted):
        return
    forwarded = [value for name, value in scope["headers"] if name == b"x-forwarded-for"]
    if not forwarded:
        return
    hops = b",".join(forwarded).decode("latin-1").split(",")
    for hop in reversed(hops):
        address = hop.strip()
        try:
            parsed = ip_address(address)
        except ValueError:
            return  # a malformed hop: keep the peer rather than guess
        if not any(parsed in network for network in trusted):
            scope["client"] = (str(parsed), client[1])
            return
    scope["client"] = (hops[0].strip(), client[1])


def _is_trusted(host: str, trusted: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        address = ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in trusted)
