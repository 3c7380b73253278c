"""Every error leaves majlis as an RFC 9457 problem with a ``detail`` a person understands.

Bad input is a 4xx, never a 500 (API.md "Conventions"): malformed JSON 400, validation 422,
unknown route 404, wrong method 405. A backing service that cannot take the request (Redis
or PostgreSQL unreachable or restarting, or a connection pool used up) is a 503 with
Retry-After, as for any overload: the client comes back, nothing was half done (a transaction
whose connection died is rolled back by the database).
Anything unexpected is logged and answered with a 500 problem that reveals nothing internal.
"""

from __future__ import annotations

import logging
import random
import socket
import sqlite3
import time
from typing import Any

from asyncpg.exceptions import (
    CannotConnectNowError,
    ConnectionDoesNotExistError,
    TooManyConnectionsError,
)
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from majlis.api.responses import problem
from majlis.api.route_table import route_of
from majlis.domain.errors import DomainError
from majlis.seams.nodes.protocol import NoMediaNode
from majlis.store.cursors import BadCursor

log = logging.getLogger(__name__)

_HTTP_TITLES = {
    404: ("Not found", "not-found", "there is nothing at this address"),
    405: ("Method not allowed", "method-not-allowed", "this address does not accept that method"),
    413: ("Request too large", "too-large", "the request body is too large"),
    415: ("Unsupported media type", "unsupported-media-type", "send JSON (application/json)"),
}


#: FastAPI's detail when it cannot decode a request body at all (fastapi.routing).
_BODY_PARSE_ERROR = "There was an error parsing the body"


def _allowed_methods(request: Request) -> str:
    """Every method the address takes, from the one route table. Starlette names only those of
    the first route whose path matched (``PUT /api/v1/spaces`` answered ``Allow: POST``, though
    GET lists Spaces); a GET route also answers HEAD."""
    methods = set(route_of(request.scope).classes)
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def _malformed_json() -> Response:
    return problem(400, "Malformed JSON", "the request body is not valid JSON", "malformed-json")


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation(exc: RequestValidationError) -> Response:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return _malformed_json()
    summary = []
    details = []
    for e in errors[:20]:
        where = _where(tuple(e.get("loc", ())))
        message = str(e.get("msg", "is invalid"))
        if e.get("type") == "extra_forbidden":
            message = "is not a field this endpoint accepts"
        summary.append(f"{where}: {message}")
        details.append({"field": where, "message": message})
    return problem(
        422,
        "Validation failed",
        "; ".join(summary) or "the request is invalid",
        "validation",
        errors=details,
    )


class _OutageLog:
    """When Redis goes away every request fails at once: log the first failure with its
    traceback, then one line per ``every_s`` with how many failed since, not a traceback per
    request (thousands a second would cost the node more CPU than the outage)."""

    def __init__(self, every_s: float = 10.0) -> None:
        self.every_s = every_s
        self._logged_at = -every_s
        self._since = 0

    def failed(self, request: Request, exc: Exception) -> None:
        self._since += 1
        now = time.monotonic()
        if now - self._logged_at < self.every_s:
            return
        self._logged_at = now
        log.error(
            "backing service unavailable on %s %s (%d failed requests since the last report)",
            request.method,
            request.url.path,
            self._since,
            exc_info=exc,
        )
        self._since = 0


def install_problem_handlers(app: FastAPI) -> None:
    async def on_domain(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        return problem(exc.status, exc.title, exc.detail, exc.slug, exc.retry_after_s)

    async def on_no_media_node(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, NoMediaNode)
        return problem(503, exc.title, exc.detail, exc.slug, exc.retry_after_s)

    async def on_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return _validation(exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 400 and exc.detail == _BODY_PARSE_ERROR:
            # FastAPI's answer when the body is not even decodable (bytes that are not UTF-8,
            # nesting deeper than the parser's recursion limit): to a client, malformed JSON.
            return _malformed_json()
        title, slug, detail = _HTTP_TITLES.get(
            exc.status_code, ("Error", "http-error", str(exc.detail))
        )
        if isinstance(exc.detail, str) and exc.status_code not in (404, 405):
            detail = exc.detail
        response = problem(exc.status_code, title, detail, slug)
        if exc.headers:
            response.headers.update(exc.headers)
        if exc.status_code == 405:
            response.headers["Allow"] = _allowed_methods(request)
        return response

    async def on_cursor(_: Request, exc: Exception) -> Response:
        return problem(400, "Bad cursor", str(exc), "bad-cursor")

    outage = _OutageLog()

    async def on_unavailable(request: Request, exc: Exception) -> Response:
        outage.failed(request, exc)
        return problem(
            503,
            "Busy, try again shortly",
            "the service is busy right now; try again in a few seconds",
            "overloaded",
            # Jittered, so the crowd shed during an outage does not return in one wave the
            # moment Redis is back.
            retry_after_s=random.randint(1, 3),  # jitter, not secrets
        )

    async def on_database_error(request: Request, exc: Exception) -> Response:
        if _database_unreachable(exc):
            return await on_unavailable(request, exc)
        return await on_unexpected(request, exc)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem(500, "Internal error", "something went wrong on our side", "internal")

    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(NoMediaNode, on_no_media_node)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(BadCursor, on_cursor)
    app.add_exception_handler(RedisConnectionError, on_unavailable)
    app.add_exception_handler(RedisTimeoutError, on_unavailable)
    # PostgreSQL down or restarting: refused connections (asyncpg raises them raw through
    # SQLAlchemy's pool), "starting up", a connection cut mid-query, a pool used up.
    # Raw from asyncpg's connect: refused or reset (ConnectionError), a host name that does not
    # resolve while a database container restarts (socket.gaierror), the connect timeout
    # (TimeoutError), "starting up", "too many clients", a connection cut mid-query.
    for unreachable in (
        ConnectionError,
        socket.gaierror,
        TimeoutError,
        CannotConnectNowError,
        TooManyConnectionsError,
        ConnectionDoesNotExistError,
    ):
        app.add_exception_handler(unreachable, on_unavailable)
    app.add_exception_handler(PoolTimeoutError, on_unavailable)
    app.add_exception_handler(DBAPIError, on_database_error)
    app.add_exception_handler(Exception, on_unexpected)


def _database_unreachable(exc: Exception) -> bool:
    """A driver error that says the database cannot be reached now, rather than a bug: a
    connection the pool found dead, SQLite busy or locked, PostgreSQL refusing connections
    (starting, shutting down, too many clients: SQLSTATE class 08 and 57P0x, 53300). A missing
    table, a syntax error or a misuse of the driver stays a 500, loudly."""
    assert isinstance(exc, DBAPIError)
    if exc.connection_invalidated:
        return True
    original = exc.orig
    if isinstance(original, sqlite3.OperationalError):
        return any(word in str(original).lower() for word in ("locked", "busy"))
    state = str(getattr(original, "sqlstate", "") or getattr(original, "pgcode", "") or "")
    if state:
        return state.startswith("08") or state.startswith("57P0") or state == "53300"
    return isinstance(exc, OperationalError) and isinstance(original, OSError)
