"""How every route is treated before any of it runs: admission lane, metrics label, body caps,
WHIP CORS and tokens in the query string, one row per route of the app.

The rows were taken from the behaviour before the route table (api/route_table.py) existed, when
each layer matched paths its own way, so they pin what the table must keep. One change, on
purpose: the routes that were not FastAPI routes (``/openapi.json``, ``/docs``,
``/docs/oauth2-redirect``, ``/static/{path}``) were counted as ``route="other"`` with the 404s,
because the router recorded no route for them; the table labels them by their template too.

Each column is observed through the layer itself, in process (no server, no services: a handler
that needs them fails, which is fine, the layers have decided by then). A route of the app that
the table does not classify fails ``test_the_table_classifies_every_route_of_the_app``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, NamedTuple

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.requests import Request

from majlis.api import deps
from majlis.api.middleware.admission import Lane, lane_of
from majlis.api.route_table import TABLE, TEMPLATES, UNROUTED, RouteTable
from majlis.app import create_app
from majlis.config import Settings
from majlis.telemetry import HTTP_REQUESTS

PUBLIC = "https://spaces.example.org"
JSON_CAP = 1024
UPLOAD_CAP = 4096
W, E, P, S = Lane.WORK, Lane.ENTRY, Lane.PARKED, Lane.STREAM
SP = "/api/v1/spaces/{space_id}"


class Row(NamedTuple):
    """One route (method, template), a path it serves, and how the layers treat it."""

    method: str
    template: str
    path: str
    lane: Lane | None
    #: The body cap of a POST/PUT/PATCH: "json", "upload"; "" for the other methods.
    cap: str = ""
    #: A body of any Content-Type reaches the handler (it checks the type itself).
    any_body: bool = False
    cors: bool = False
    #: ``?access_token=`` stands in for the Authorization header: on no route (issue 14, tokens
    #: never travel in URLs; EventSource uses a stream ticket).
    query_token: bool = False


ROWS = (
    Row("GET", "/openapi.json", "/openapi.json", W),
    Row("GET", "/docs", "/docs", W),
    Row("POST", f"{SP}/join", "/api/v1/spaces/sp4ce/join", E, "json"),
    Row("POST", f"{SP}/heartbeat", "/api/v1/spaces/sp4ce/heartbeat", W, "json"),
    Row("GET", f"{SP}/snapshot", "/api/v1/spaces/sp4ce/snapshot", W),
    Row("GET", f"{SP}/events", "/api/v1/spaces/sp4ce/events", S),
    Row("GET", f"{SP}/audience", "/api/v1/spaces/sp4ce/audience", W),
    Row("POST", f"{SP}/reactions", "/api/v1/spaces/sp4ce/reactions", W, "json"),
    Row("POST", f"{SP}/whip", "/api/v1/spaces/sp4ce/whip", W, "json", any_body=True, cors=True),
    Row("DELETE", f"{SP}/whip/{{session_id}}", "/api/v1/spaces/sp4ce/whip/s3ss", W, cors=True),
    Row("GET", "/hls/{space_id}/live.m3u8", "/hls/sp4ce/live.m3u8", W),
    Row("GET", "/hls/{space_id}/live.m3u8", "/hls/sp4ce/live.m3u8?_HLS_msn=4&_HLS_part=1", P),
    Row("GET", "/hls/{space_id}/init.mp4", "/hls/sp4ce/init.mp4", W),
    Row("GET", "/hls/{space_id}/main.m3u8", "/hls/sp4ce/main.m3u8", W),
    Row("GET", "/hls/{space_id}/captions.m3u8", "/hls/sp4ce/captions.m3u8", W),
    Row("GET", "/hls/{space_id}/captions/{name}", "/hls/sp4ce/captions/7.vtt", W),
    Row("GET", "/hls/{space_id}/{name}", "/hls/sp4ce/7.2.m4s", W),
    Row("GET", "/hls/{space_id}/{name}", "/hls/sp4ce/7.m4s", W),
    Row("GET", f"{SP}/replay.m3u8", "/api/v1/spaces/sp4ce/replay.m3u8", W),
    Row("GET", f"{SP}/recording.m4a", "/api/v1/spaces/sp4ce/recording.m4a", W),
    Row("GET", "/dash/time", "/dash/time", W),
    Row("GET", "/dash/{space_id}/live.mpd", "/dash/sp4ce/live.mpd", W),
    Row("GET", "/dash/{space_id}/{rendition}/init.mp4", "/dash/sp4ce/opus/init.mp4", W),
    Row("GET", "/dash/{space_id}/{rendition}/{name}", "/dash/sp4ce/aac/12.m4s", P),
    Row("GET", "/dash/{space_id}/{rendition}/{name}", "/dash/sp4ce/opus/13.m4s", P),
    Row("POST", "/api/v1/accounts", "/api/v1/accounts", E, "json"),
    Row("POST", "/api/v1/sessions", "/api/v1/sessions", E, "json"),
    Row("DELETE", "/api/v1/sessions/current", "/api/v1/sessions/current", W),
    Row("GET", "/api/v1/sessions", "/api/v1/sessions", W),
    Row("POST", "/api/v1/stream-tickets", "/api/v1/stream-tickets", W, "json"),
    Row("DELETE", "/api/v1/sessions/{session_id}", "/api/v1/sessions/s3ss10n", W),
    Row("GET", "/api/v1/accounts/{handle}", "/api/v1/accounts/h4ndle", W),
    Row("POST", "/api/v1/accounts/{handle}/follow", "/api/v1/accounts/h4ndle/follow", W, "json"),
    Row("DELETE", "/api/v1/accounts/{handle}/follow", "/api/v1/accounts/h4ndle/follow", W),
    Row("POST", "/api/v1/spaces", "/api/v1/spaces", W, "json"),
    Row("GET", "/api/v1/spaces", "/api/v1/spaces", W),
    Row("GET", SP, "/api/v1/spaces/sp4ce", W),
    Row("PATCH", SP, "/api/v1/spaces/sp4ce", W, "json"),
    Row("PUT", f"{SP}/teaser", "/api/v1/spaces/sp4ce/teaser", W, "upload", any_body=True),
    Row("DELETE", f"{SP}/teaser", "/api/v1/spaces/sp4ce/teaser", W),
    Row("PUT", f"{SP}/link", "/api/v1/spaces/sp4ce/link", W, "json"),
    Row("DELETE", f"{SP}/link", "/api/v1/spaces/sp4ce/link", W),
    Row("GET", f"{SP}/comments", "/api/v1/spaces/sp4ce/comments", W),
    Row("POST", f"{SP}/comments", "/api/v1/spaces/sp4ce/comments", W, "json"),
    Row("DELETE", f"{SP}/comments/{{comment_id}}", "/api/v1/spaces/sp4ce/comments/c0mment", W),
    Row(
        "POST",
        f"{SP}/comments/{{comment_id}}/pin",
        "/api/v1/spaces/sp4ce/comments/c0/pin",
        W,
        "json",
    ),
    Row("DELETE", f"{SP}/comments/{{comment_id}}/pin", "/api/v1/spaces/sp4ce/comments/c0/pin", W),
    Row("POST", f"{SP}/start", "/api/v1/spaces/sp4ce/start", W, "json"),
    Row("POST", f"{SP}/end", "/api/v1/spaces/sp4ce/end", W, "json"),
    Row("GET", f"{SP}/reminder", "/api/v1/spaces/sp4ce/reminder", W),
    Row("POST", f"{SP}/reminder", "/api/v1/spaces/sp4ce/reminder", W, "json"),
    Row("DELETE", f"{SP}/reminder", "/api/v1/spaces/sp4ce/reminder", W),
    Row("POST", f"{SP}/requests", "/api/v1/spaces/sp4ce/requests", W, "json"),
    Row("GET", f"{SP}/requests", "/api/v1/spaces/sp4ce/requests", W),
    Row("DELETE", f"{SP}/requests/{{handle}}", "/api/v1/spaces/sp4ce/requests/h4ndle", W),
    Row("PUT", f"{SP}/stage/{{handle}}", "/api/v1/spaces/sp4ce/stage/h4ndle", W, "json"),
    Row("DELETE", f"{SP}/stage/{{handle}}", "/api/v1/spaces/sp4ce/stage/h4ndle", W),
    Row("POST", f"{SP}/stage/{{handle}}/mute", "/api/v1/spaces/sp4ce/stage/h4ndle/mute", W, "json"),
    Row(
        "POST",
        f"{SP}/stage/{{handle}}/unmute",
        "/api/v1/spaces/sp4ce/stage/h4ndle/unmute",
        W,
        "json",
    ),
    Row("POST", f"{SP}/removals/{{handle}}", "/api/v1/spaces/sp4ce/removals/h4ndle", W, "json"),
    Row("GET", "/api/v1/feed/live", "/api/v1/feed/live", W),
    Row("GET", "/api/v1/feed/upcoming", "/api/v1/feed/upcoming", W),
    Row("GET", "/api/v1/notifications", "/api/v1/notifications", W),
    Row("POST", "/api/v1/notifications/seen", "/api/v1/notifications/seen", W, "json"),
    Row("GET", "/api/v1/notifications/stream", "/api/v1/notifications/stream", S),
    Row("GET", "/livez", "/livez", None),
    Row("GET", "/readyz", "/readyz", W),
    Row("GET", "/static/{path}", "/static/space.js", W),
    Row("GET", "/spaces/new", "/spaces/new", W),
    Row("GET", "/spaces/{space_id}", "/spaces/sp4ce", W),
    Row("GET", "/", "/", W),
    Row("GET", "/signin", "/signin", W),
    Row("GET", "/signup", "/signup", W),
    Row("GET", "/notifications", "/notifications", W),
    Row("GET", "/@{handle}", "/@h4ndle", W),
    Row("GET", "/accounts/{handle}", "/accounts/h4ndle", W),
    Row("GET", "/metrics", "/metrics", W),
    Row("GET", f"{SP}/clips", "/api/v1/spaces/sp4ce/clips", W),
    Row("POST", f"{SP}/clips", "/api/v1/spaces/sp4ce/clips", W, "json"),
    Row("GET", "/api/v1/clips/{clip_id}", "/api/v1/clips/cl1p", W),
    Row("DELETE", "/api/v1/clips/{clip_id}", "/api/v1/clips/cl1p", W),
    Row("GET", "/api/v1/clips/{clip_id}/audio.m4a", "/api/v1/clips/cl1p/audio.m4a", W),
    Row("GET", f"{SP}/transcript", "/api/v1/spaces/sp4ce/transcript", W),
    Row("DELETE", f"{SP}/transcript", "/api/v1/spaces/sp4ce/transcript", W),
    Row("GET", f"{SP}/transcript.vtt", "/api/v1/spaces/sp4ce/transcript.vtt", W),
    Row("GET", f"{SP}/transcript.srt", "/api/v1/spaces/sp4ce/transcript.srt", W),
    Row("GET", "/oembed", "/oembed", W),
    Row("GET", "/clips/{clip_id}", "/clips/cl1p", W),
    Row("GET", "/clips/{clip_id}/card.png", "/clips/cl1p/card.png", W),
    Row("GET", "/spaces/{space_id}/card.png", "/spaces/sp4ce/card.png", W),
    Row("GET", "/@{handle}/card.png", "/@h4ndle/card.png", W),
    Row("GET", "/embed/spaces/{space_id}", "/embed/spaces/sp4ce", W),
    Row("GET", "/embed/clips/{clip_id}", "/embed/clips/cl1p", W),
)


@pytest.fixture(scope="module")
def app() -> FastAPI:
    """Never started: no services, so handlers fail, after every layer has had its say."""
    return create_app(
        Settings(public_url=f"{PUBLIC}/", max_body_bytes=JSON_CAP, teaser_max_bytes=UPLOAD_CAP)
    )


def _routes(app: FastAPI) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        for method in route.methods or {"GET"}:
            if method != "HEAD":
                found.add((method, str(route.path_format)))
    return found


def test_every_route_of_the_app_has_a_row(app: FastAPI) -> None:
    rows = {(row.method, row.template) for row in ROWS}
    assert _routes(app) - rows == set(), "routes without a row: classify them"
    assert rows - _routes(app) == set(), "rows of routes that are gone"


def test_the_table_classifies_every_route_of_the_app(app: FastAPI) -> None:
    """A route the table does not know would skip its lane, its cap and its label."""
    classified = {(method, route.label) for route in TABLE.routes for method in route.classes}
    assert _routes(app) - classified == set(), "routes of the app missing from route_table.py"
    assert classified - _routes(app) == set(), "route_table.py names routes the app has not"
    assert TABLE.unclassified(app.routes) == []


def test_an_app_with_a_route_the_table_does_not_classify_does_not_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    without_livez = RouteTable({path: c for path, c in TEMPLATES.items() if path != "/livez"})
    monkeypatch.setattr("majlis.app.TABLE", without_livez)
    with pytest.raises(RuntimeError, match=r"missing from api/route_table\.py: GET /livez$"):
        create_app(Settings())


def _routers_pick(app: FastAPI, method: str, path: str) -> str:
    """The template Starlette's router picks: the first that matches path and method, else the
    first that matches the path (it answers 405)."""
    path_only = None
    for route in iter_route_contexts(app.routes):
        if route.path_regex.match(path):
            if not route.methods or method in route.methods:
                return str(route.path_format)
            path_only = path_only or str(route.path_format)
    return path_only or UNROUTED.label


UNROUTED_PATHS = (
    "/nope",
    "/api/v1/spaces/",
    "/api/v1/spaces//join",
    "/api/v1/spaces/sp4ce/whip/s3ss/more",
    "/hls/sp4ce",
    "/dash/sp4ce/aac/12.m4s/more",
    "/spaces/new/more",
    "/static",
    "/@",
)


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "OPTIONS"])
def test_the_table_picks_the_route_the_router_picks(app: FastAPI, method: str) -> None:
    for path in (*(row.path.partition("?")[0] for row in ROWS), *UNROUTED_PATHS):
        assert TABLE.match(path).label == _routers_pick(app, method, path), (method, path)


def test_a_template_the_table_cannot_match_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot match"):
        RouteTable({"/files/{name}.{ext}": {}})
    with pytest.raises(ValueError, match="twice"):
        RouteTable({"/a/{x}": {}, "/a/{y}": {}})


class Answer(NamedTuple):
    status: int
    headers: dict[bytes, bytes]


def _call(app: FastAPI, method: str, target: str, headers: list[tuple[bytes, bytes]]) -> Answer:
    path, _, query = target.partition("?")
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    started: list[Answer] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and not started:
            started.append(Answer(message["status"], dict(message.get("headers", []))))

    async def run() -> None:
        # No services: the handler fails and the ServerErrorMiddleware re-raises after its 500.
        with contextlib.suppress(Exception):
            await app(scope, receive, send)

    asyncio.run(run())
    assert started, f"{method} {target}: no answer"
    return started[0]


def _requests_total() -> dict[tuple[str, str, str], float]:
    return {
        (s.labels["route"], s.labels["method"], s.labels["status"]): s.value
        for metric in HTTP_REQUESTS.collect()
        for s in metric.samples
        if s.name.endswith("_total")
    }


def _label(app: FastAPI, row: Row) -> str:
    before = _requests_total()
    answer = _call(app, row.method, row.path, [])
    after = _requests_total()
    moved = [key for key, count in after.items() if count > before.get(key, 0.0)]
    assert len(moved) == 1, moved
    route, method, status = moved[0]
    assert (method, status) == (row.method, str(answer.status))
    return route


def _cap(app: FastAPI, row: Row) -> str:
    if row.method not in ("POST", "PUT", "PATCH"):
        return ""
    json = [(b"content-type", b"application/json")]
    over_json = _call(
        app, row.method, row.path, [(b"content-length", b"%d" % (JSON_CAP + 1)), *json]
    )
    if over_json.status != 413:
        over_upload = [(b"content-length", b"%d" % (UPLOAD_CAP + 1)), *json]
        assert _call(app, row.method, row.path, over_upload).status == 413
        return "upload"
    return "json"


def _any_body(app: FastAPI, row: Row) -> bool:
    typed = [(b"content-length", b"2"), (b"content-type", b"text/plain")]
    return _call(app, row.method, row.path, typed).status != 415


def _cors(app: FastAPI, row: Row) -> bool:
    preflight = [
        (b"origin", PUBLIC.encode()),
        (b"access-control-request-method", row.method.encode()),
    ]
    answer = _call(app, "OPTIONS", row.path, preflight)
    allowed = answer.headers.get(b"access-control-allow-origin")
    assert (answer.status == 204) == (allowed == PUBLIC.encode())
    return answer.status == 204


def _query_token(row: Row) -> bool:
    path, _, query = row.path.partition("?")
    query = f"{query}&access_token=t0ken" if query else "access_token=t0ken"
    scope = {"type": "http", "method": row.method, "path": path, "query_string": query.encode()}
    scope["headers"] = []
    return deps._token(Request(scope), None) is not None


@pytest.mark.parametrize("row", ROWS, ids=[f"{row.method} {row.path}" for row in ROWS])
def test_each_route_is_treated_as_before(app: FastAPI, row: Row) -> None:
    path, _, query = row.path.partition("?")
    scope = {"type": "http", "method": row.method, "path": path, "query_string": query.encode()}
    assert lane_of(scope) is row.lane
    assert _label(app, row) == row.template
    assert _cap(app, row) == row.cap
    if row.cap:
        assert _any_body(app, row) is row.any_body
    assert _cors(app, row) is row.cors
    assert _query_token(row) is row.query_token


def test_a_request_is_matched_once_and_made_up_long_paths_are_not_remembered() -> None:
    from majlis.api import route_table

    scope: dict[str, Any] = {"type": "http", "method": "POST", "path": "/api/v1/spaces/q/join"}
    route = route_table.route_of(scope)
    assert route.label == f"{SP}/join"
    scope["path"] = "/livez"  # the layers after the first read what the first matched
    assert route_table.route_of(scope) is route
    remembered = route_table._remembered.cache_info().currsize
    long = {"type": "http", "method": "GET", "path": "/hls/" + "x" * 300 + "/live.m3u8"}
    assert route_table.route_of(long).label == "/hls/{space_id}/live.m3u8"
    assert route_table._remembered.cache_info().currsize == remembered
