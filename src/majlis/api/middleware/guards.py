"""ASGI guards that run before any route: addresses with control characters (404), body size cap
(413) and JSON-only bodies (415).

Why ASGI and not a route dependency: the cap must hold while the body is still arriving, so a
client cannot make the server buffer more than the cap before being told no. A declared
Content-Length is checked up front (the HTTP server enforces it); a chunked body is read here
up to the cap and replayed to the app.

Why refuse control characters in the path: no handle, Space id or file name contains one, and a
NUL (``%00``) passed on as a lookup key makes PostgreSQL fail the query (text cannot hold NUL),
which would answer a harmless typo with a 500. Refusing them here covers every route at once.

Which cap and which body types a route takes is its class in the one route table
(api/route_table.py): the teaser upload (``UPLOAD``) has the larger cap, and it and WHIP offers
take bodies that are not JSON.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from majlis.api.responses import problem
from majlis.api.route_table import RouteClass, class_of

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_CONTROL = frozenset(chr(c) for c in (*range(0x20), 0x7F))


class RequestGuards:
    def __init__(self, app: ASGIApp, max_body_bytes: int, upload_bytes: int = 0) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        #: The larger cap of the one upload route (a pre-show teaser: audio, not JSON).
        self.upload_bytes = max(upload_bytes, max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not _CONTROL.isdisjoint(scope["path"]):
            await _reply(scope, receive, send, 404, "there is nothing at this address", "not-found")
            return
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        route_class = class_of(scope)
        cap = self.upload_bytes if route_class is RouteClass.UPLOAD else self.max_body_bytes
        length_header = headers.get(b"content-length")
        chunked = length_header is None and b"transfer-encoding" in headers
        if length_header is not None:
            try:
                length = int(length_header)
            except ValueError:
                await _reply(scope, receive, send, 400, "bad Content-Length", "bad-request")
                return
            if length > cap:
                await self._too_large(scope, receive, send, cap)
                return
            has_body = length > 0
        else:
            has_body = chunked
        if has_body and not _accepts_body_type(route_class, headers.get(b"content-type", b"")):
            await _reply(
                scope,
                receive,
                send,
                415,
                "send the body as JSON with Content-Type: application/json",
                "unsupported-media-type",
            )
            return
        if chunked:
            body = bytearray()
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body += message.get("body", b"")
                if len(body) > cap:
                    await self._too_large(scope, receive, send, cap)
                    return
                if not message.get("more_body", False):
                    break
            receive = _replay(bytes(body), receive)
        await self.app(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, cap: int) -> None:
        await _reply(
            scope,
            receive,
            send,
            413,
            f"the request body must be at most {cap} bytes",
            "too-large",
        )


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
    413: "Request too large",
    415: "Unsupported media type",
}


async def _reply(
    scope: Scope, receive: Receive, send: Send, status: int, detail: str, slug: str
) -> None:
    await problem(status, _TITLES[status], detail, slug)(scope, receive, send)
