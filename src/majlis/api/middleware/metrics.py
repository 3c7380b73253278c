"""``GET /metrics`` (Prometheus text format) and the middleware that counts every request.

Why the route *template* as the label and never the raw path: every Space id and part number
would otherwise be a new time series, and a scrape of a busy node would grow without bound.
The label is the request's route in the one route table (api/route_table.py), the same match
admission control made for it; anything unmatched is ``route="other"``.

The listener gauges are refreshed when scraped (presence counts are async, and only live
Spaces are reported), so they cost nothing between scrapes.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import time
from ipaddress import ip_address, ip_network

from fastapi import FastAPI, Request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from majlis.api.responses import problem
from majlis.api.route_table import route_of
from majlis.services import Services
from majlis.telemetry import ACTIVE_LISTENERS, HTTP_DURATION, HTTP_REQUESTS, LIVE_SPACES

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetrics:
    """Counts each admitted request by route template, method and status, and times it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = route_of(scope).label
            method = scope["method"] if scope["method"] in _METHODS else "other"
            _counter(route, method, status).inc()
            _histogram(route).observe(time.perf_counter() - started)


@functools.cache
def _counter(route: str, method: str, status: int) -> Counter:
    """The labelled child, looked up once: ``labels()`` takes a lock and builds a key per call,
    which was most of this middleware's cost. Bounded: routes x methods x statuses."""
    return HTTP_REQUESTS.labels(route, method, str(status))


@functools.cache
def _histogram(route: str) -> Histogram:
    return HTTP_DURATION.labels(route)


async def _refresh_listener_gauges(services: Services) -> None:
    live = services.media.live_space_ids()
    presence = services.ctx.live.presence
    counts = {space_id: await presence.count(space_id) for space_id in live}
    ACTIVE_LISTENERS.clear()
    for space_id, count in counts.items():
        ACTIVE_LISTENERS.labels(space_id).set(count)
    LIVE_SPACES.set(len(live))


#: A scrape renders the registry at most this often; scrapes in between get that rendering.
RENDER_EVERY_S = 1.0
#: Where an unauthenticated scrape may come from when no MAJLIS_METRICS_TOKEN is set.
_LOOPBACK = (ip_network("127.0.0.0/8"), ip_network("::1/128"))


class _Rendering:
    """The last exposition rendered, and when (wall clock, for the scraper's time axis)."""

    def __init__(self) -> None:
        self.body = b""
        self.at = 0.0
        self._lock = asyncio.Lock()

    async def latest(self, services: Services) -> tuple[bytes, float]:
        async with self._lock:  # concurrent scrapes wait for one rendering, not one each
            if time.time() - self.at >= RENDER_EVERY_S:
                await _refresh_listener_gauges(services)
                self.body, self.at = generate_latest(REGISTRY), time.time()
            return self.body, self.at


def install_metrics(app: FastAPI) -> None:
    rendering = _Rendering()

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus exposition. Why guarded: a probe looped on it and stalled live rooms'
        clocks (each rendering walks every series; issue 14, finding 3). So it needs
        MAJLIS_METRICS_TOKEN as a bearer token when one is set (else only loopback may scrape),
        renders at most once a second whatever the scrape rate, and is shed under load like any
        read. ``X-Metrics-Rendered-At`` says when this rendering was made (Unix seconds)."""
        services: Services = request.app.state.services
        refusal = _refusal(request, services.ctx.settings.metrics_token)
        if refusal is not None:
            return refusal
        body, at = await rendering.latest(services)
        return Response(
            body,
            media_type=CONTENT_TYPE_LATEST,
            headers={"Cache-Control": "no-store", "X-Metrics-Rendered-At": f"{at:.3f}"},
        )


def _refusal(request: Request, token: str) -> Response | None:
    if token:
        sent = request.headers.get("authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return None
        return problem(
            401,
            "Unauthorized",
            "send the metrics token: Authorization: Bearer <MAJLIS_METRICS_TOKEN>",
            "unauthorized",
        )
    host = request.client.host if request.client else ""
    try:
        local = any(ip_address(host) in network for network in _LOOPBACK)
    except ValueError:
        local = False
    if local:
        return None
    return problem(
        403,
        "Forbidden",
        "metrics are served to this machine only; set MAJLIS_METRICS_TOKEN to scrape from "
        "elsewhere",
        "forbidden",
    )
