"""ASGI guards that run before any route: addresses with control characters (404), body size cap
(413), JSON-only bodies (415), and a body that takes too long (408).

Why ASGI and not a route dependency: the cap must hold while the body is still arriving, so a
client cannot make the server buffer more than the cap before being told no. A declared
Content-Length is checked up front (the HTTP server enforces it); every body is then read here,
up to the cap and within ``body_timeout_s``, and replayed to the app.

Why the whole body first, before admission control counts the request (``BodyFirst``): a probe
of the node (issue 14) opened 262 connections that each sent headers and ``{`` of a declared
1,000-byte body, and held them. Admission had counted each as in flight when its head arrived,
so every other client's join, sign-in and playlist got 503 for as long as the sockets stayed
open (135 were enough to block sign-in). Admission now decides at once whether a request may
enter (a full node still sheds without reading a body), then lets ``BodyFirst`` read the body,
and only then counts the request in a slot (admission.py). A body that stalls
holds one connection until its time is up (``body_timeout_s``, plus time for its size at
``MIN_BODY_BYTES_PER_S``: a host on a slow uplink still uploads a 4 MiB teaser), then gets 408
and the connection is closed.

Why refuse control characters in the path: no handle, Space id or file name contains one, and a
NUL (``%00``) passed on as a lookup key makes PostgreSQL fail the query (text cannot hold NUL),
which would answer a harmless typo with a 500. Refusing them here covers every route at once.

Which cap and which body types a route takes is its class in the one route table
(api/route_table.py): the teaser upload (``UPLOAD``) has the larger cap, and it and WHIP offers
take bodies that are not JSON.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from majlis.api.responses import problem
from majlis.api.route_table import RouteClass, class_of

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: The slowest upload allowed beyond ``body_timeout_s``: about a weak 3G uplink.
MIN_BODY_BYTES_PER_S = 16 * 1024
_CONTROL = frozenset(chr(c) for c in (*range(0x20), 0x7F))


class BodyFirst:
    """Reads a request's whole body, within its caps and its time, before anything else uses it.

    Called by admission control between deciding a request may enter and counting it in a
    slot (so an overloaded node still sheds without reading a body), and by ``RequestGuards``
    (a no-op when admission already did it). Answers 400/408/413/415 itself and returns None
    then (or when the client left); otherwise a ``receive`` that replays the body.
    """

    def __init__(self, max_body_bytes: int, upload_bytes: int = 0, timeout_s: float = 30.0) -> None:
        self.max_body_bytes = max_body_bytes
        #: The larger cap of the one upload route (a pre-show teaser: audio, not JSON).
        self.upload_bytes = max(upload_bytes, max_body_bytes)
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        if scope["method"] not in _BODY_METHODS or scope.get(_READ):
            return receive
        scope[_READ] = True
        headers = dict(scope["headers"])
        route_class = class_of(scope)
        cap = self.upload_bytes if route_class is RouteClass.UPLOAD else self.max_body_bytes
        length_header = headers.get(b"content-length")
        if length_header is not None:
            try:
                length = int(length_header)
            except ValueError:
                await _reply(scope, receive, send, 400, "bad Content-Length", "bad-request")
                return None
            if length > cap:
                await _too_large(scope, receive, send, cap)
                return None
            has_body = length > 0
        else:
            has_body, length = b"transfer-encoding" in headers, cap
        if not has_body:
            return receive
        if not _accepts_body_type(route_class, headers.get(b"content-type", b"")):
            await _reply(
                scope,
                receive,
                send,
                415,
                "send the body as JSON with Content-Type: application/json",
                "unsupported-media-type",
            )
            return None
        allowed_s = self.timeout_s + length / MIN_BODY_BYTES_PER_S
        try:
            async with asyncio.timeout(allowed_s):
                body = await _read_body(receive, cap)
        except TimeoutError:
            detail = f"the request body must arrive within {allowed_s:.0f} s"
            await _reply(scope, receive, send, 408, detail, "request-timeout")
            return None
        if body is None:  # the client left
            return None
        if len(body) > cap:
            await _too_large(scope, receive, send, cap)
            return None
        return _replay(body, receive)


#: Set in the scope once ``BodyFirst`` has read the body (the replay is what the app reads).
_READ = "majlis.body_read"


class RequestGuards:
    def __init__(self, app: ASGIApp, body: BodyFirst) -> None:
        self.app = app
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not _CONTROL.isdisjoint(scope["path"]):
            await _reply(scope, receive, send, 404, "there is nothing at this address", "not-found")
            return
        replay = await self.body(scope, receive, send)
        if replay is not None:
            await self.app(scope, replay, send)


async def _too_large(scope: Scope, receive: Receive, send: Send, cap: int) -> None:
    detail = f"the request body must be at most {cap} bytes"
    await _reply(scope, receive, send, 413, detail, "too-large")


async def _read_body(receive: Receive, cap: int) -> bytes | None:
    """The whole body, or its first ``cap`` + 1 bytes and more (too large), or None (gone)."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if len(body) > cap or not message.get("more_body", False):
            return bytes(body)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


#: WHIP offers arrive as application/sdp, teasers as audio; each endpoint checks its type.
_ANY_BODY_TYPE = frozenset({RouteClass.WHIP, RouteClass.UPLOAD})


def _accepts_body_type(route_class: RouteClass | None, content_type: bytes) -> bool:
    media_type = content_type.split(b";", 1)[0].strip().lower()
    if media_type == b"application/json" or media_type.endswith(b"+json"):
        return True
    return route_class in _ANY_BODY_TYPE


_TITLES = {
    400: "Bad request",
    404: "Not found",
    408: "Request timeout",
    413: "Request too large",
    415: "Unsupported media type",
}


async def _reply(
    scope: Scope, receive: Receive, send: Send, status: int, detail: str, slug: str
) -> None:
    await problem(status, _TITLES[status], detail, slug)(scope, receive, send)
