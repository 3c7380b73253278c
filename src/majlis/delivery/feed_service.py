"""``majlis edge-feed``: the feeder of an nginx + Nchan edge as a service (see ``fanout.py``).

nginx sends it the MPD requests its cache misses (at most one per Space per second): it answers
each with the origin's MPD and, from it, follows the Space. It listens on loopback only; nothing
but the edge's nginx talks to it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import asdict

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from majlis.delivery.fanout import Edge, Feeder

#: How often Spaces nobody listens to any more are let go.
REAP_EVERY_S = 5.0
#: The origin's answer headers an MPD keeps through the feeder (nginx caches by them).
_KEPT = ("content-type", "cache-control", "expires", "last-modified", "etag")


def build_app(origin_url: str, edge: Edge) -> Starlette:
    """The feeder's web app; its lifespan owns the HTTP clients and the Feeder."""
    state: dict[str, Feeder] = {}

    async def mpd(request: Request) -> Response:
        try:
            answer = await state["feeder"].mpd(request.path_params["space"])
        except httpx.HTTPError:
            # The origin did not answer: a short-lived 503 for the crowd, never a 500.
            return Response(
                b'{"title":"The origin did not answer","status":503}',
                status_code=503,
                media_type="application/problem+json",
                headers={"Retry-After": "1", "Cache-Control": "max-age=1"},
            )
        headers = {k: v for k, v in answer.headers.items() if k.lower() in _KEPT}
        return Response(answer.content, status_code=answer.status_code, headers=headers)

    async def healthz(request: Request) -> Response:
        feeder = state["feeder"]
        return JSONResponse({"following": feeder.following(), **asdict(feeder.counters)})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        timeout = httpx.Timeout(15.0, connect=5.0)
        async with httpx.AsyncClient(base_url=origin_url, timeout=timeout) as origin:
            feeder = Feeder(origin, edge)
            state["feeder"] = feeder

            async def reap() -> None:
                while True:
                    await asyncio.sleep(REAP_EVERY_S)
                    await feeder.reap_idle()

            reaper = asyncio.create_task(reap())
            try:
                yield
            finally:
                reaper.cancel()
                await feeder.close()

    return Starlette(
        routes=[
            Route("/dash/{space:str}/live.mpd", mpd),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )


def run(origin_url: str, edge: Edge, port: int) -> None:
    app = build_app(origin_url, edge)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
