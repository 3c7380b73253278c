"""``GET /metrics`` (Prometheus text format) and the middleware that counts every request.

Why the route *template* as the label and never the raw path: every Space id and part number
would otherwise be a new time series, and a scrape of a busy node would grow without bound.
The label is the request's route in the one route table (api/route_table.py), the same match
admission control made for it; anything unmatched is ``route="other"``.

The listener gauges are refreshed when scraped (presence counts are async, and only live
Spaces are reported), so they cost nothing between scrapes.
"""

from __future__ import annotations

import functools
import time

from fastapi import FastAPI, Request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


def install_metrics(app: FastAPI) -> None:
    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus exposition; never cached (each scrape must see the node as it is)."""
        await _refresh_listener_gauges(request.app.state.services)
        return Response(
            generate_latest(REGISTRY),
            media_type=CONTENT_TYPE_LATEST,
            headers={"Cache-Control": "no-store"},
        )
