"""The ASGI application of one majlis node."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI
from starlette.responses import Response

import majlis
from majlis.api.deps import current_session, signed_in, streaming_session
from majlis.api.middleware.admission import Admission, Limits
from majlis.api.middleware.guards import BodyFirst, RequestGuards
from majlis.api.middleware.metrics import RequestMetrics, install_metrics
from majlis.api.middleware.whip_cors import WhipCors
from majlis.api.openapi_doc import corrected
from majlis.api.problems import install_problem_handlers
from majlis.api.responses import JSON
from majlis.api.route_table import TABLE
from majlis.api.routes import (
    accounts,
    audience,
    clips,
    comments,
    dash,
    media,
    reach,
    spaces,
    stage,
    subtitles,
    transcripts,
)
from majlis.api.schemas import Problem
from majlis.config import Settings
from majlis.security.shared_secret import SecretMismatch
from majlis.services import Services
from majlis.web.install import install_web

_ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 415, 422, 429, 503)
_ERRORS = {status: {"model": Problem} for status in _ERROR_STATUSES}
#: The dependencies that refuse an anonymous caller: every other operation that reads a token
#: also serves one who sends none (api/openapi_doc.py).
_REQUIRES_TOKEN: frozenset[Callable[..., object]] = frozenset(
    {current_session, signed_in, streaming_session}
)

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            services = await Services.start(settings)
        except SecretMismatch as exc:
            log.error("majlis: %s", exc)  # the reason, above uvicorn's traceback
            raise
        app.state.services = services
        # Everything loaded so far (modules, routes, codecs: ~150k objects) lives as long as the
        # process; frozen, a full collection no longer walks it: 120 ms -> 2 ms, which was the
        # p99 of admitted requests under a surge (bench/surge.py).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await services.stop()

    app = FastAPI(
        title="majlis",
        version=majlis.__version__,
        description="Live audio rooms: accounts, Spaces, the stage and the audience path.",
        lifespan=lifespan,
        responses=_ERRORS,  # type: ignore[arg-type]
        docs_url=None,  # web/api_docs.py serves /docs: vendored Swagger UI, with a CSP
        redoc_url=None,
    )
    install_problem_handlers(app)
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = corrected(build_openapi(), app.routes, _REQUIRES_TOKEN)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    # Starlette tries routes in order, each a regex: the audience's join and heartbeat (once
    # per listener) and the HLS routes (once per part per edge) come first. Measured with
    # bench/join_throughput.py: routing was ~20 % of a /livez request's CPU behind 6 routers.
    routers = (
        audience,
        subtitles,  # before media: its /hls/{id}/{name} would take main.m3u8 for a part
        media,
        dash,
        accounts,
        spaces,
        stage,
        comments,
        clips,
        transcripts,
        reach,
    )
    for module in routers:
        app.include_router(module.router)

    @app.get("/livez", tags=["ops"], response_model=None)
    async def livez() -> JSON:
        """The process answers; the cheapest route, and the benchmark's hello-world ceiling."""
        return JSON({"status": "ok"})

    @app.get("/readyz", tags=["ops"], response_model=None)
    async def readyz() -> Response:
        """Ready to serve: the database answers."""
        await app.state.services.ctx.store.ping()
        return JSON({"status": "ready"})

    install_web(app)
    install_metrics(app)
    # A route missing from the one route table would take no lane of its own, the JSON cap and
    # the label "other" without anyone deciding so: refuse to start instead.
    if unclassified := TABLE.unclassified(app.routes):
        raise RuntimeError(f"routes missing from api/route_table.py: {', '.join(unclassified)}")
    body = BodyFirst(settings.max_body_bytes, settings.teaser_max_bytes, settings.body_timeout_s)
    app.add_middleware(RequestGuards, body=body)
    app.add_middleware(RequestMetrics)
    # Outside all but WhipCors: a shed request never reaches the guards, the router or a body.
    # An admitted one is counted in a slot only once its body arrived (``before_slot``), so
    # stalled bodies hold connections, never the work slots everyone else needs (guards.py).
    app.add_middleware(
        Admission,
        limits=Limits.from_settings(settings),
        trusted_proxies=settings.trusted_networks(),
        before_slot=body,
    )
    # Outside admission: a shed WHIP offer's 503 must still be readable cross-origin.
    app.add_middleware(WhipCors, public_url=settings.public_url)
    return app
