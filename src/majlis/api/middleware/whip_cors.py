"""CORS for the WHIP routes, so a browser can follow a 307 to the Space's media node.

Why: a WHIP offer posted to any API node is redirected to the node that runs the Space's room
(api/routes/media.py). When that node is another origin than the page (``node_url`` is
``http://media-2:8000``, the page is ``https://spaces.example.org``), the browser sends the
redirected offer only if the media node answers the preflight, and lets the page read the
answer (its Location, a 503's Retry-After) only with Access-Control-Allow-Origin. Only the
deployment's own origin (``MAJLIS_PUBLIC_URL``) is allowed: any other page stays same-origin,
so no foreign site can speak with a visitor's token. No public URL: no CORS at all.

Why an ASGI layer outside everything else: errors answered before any route runs (admission's
503, the guards' 413/415) must carry the header too, or the page sees a network error where it
should have waited out a Retry-After; and a preflight must not count against admission.
The WHIP routes are those of class ``WHIP`` in the one route table (api/route_table.py).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from majlis.api.route_table import route_of

_ALLOW_METHODS = b"POST, DELETE"
_ALLOW_HEADERS = b"Authorization, Content-Type"
#: Location names the session (to hang up); Retry-After says how long a busy node wants.
_EXPOSE_HEADERS = b"Location, Retry-After"
_PREFLIGHT_MAX_AGE_S = b"600"


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of ``url`` as browsers send it in Origin, or None if ``url`` has
    none (empty, relative)."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class WhipCors:
    """Answers WHIP preflights from ``allowed_origin`` and marks WHIP answers readable by it."""

    def __init__(self, app: ASGIApp, public_url: str) -> None:
        self.app = app
        origin = origin_of(public_url)
        self.allowed = origin.encode() if origin else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = self._allowed_origin(scope)
        if origin is None:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [
                        (b"access-control-allow-origin", origin),
                        (b"access-control-allow-methods", _ALLOW_METHODS),
                        (b"access-control-allow-headers", _ALLOW_HEADERS),
                        (b"access-control-max-age", _PREFLIGHT_MAX_AGE_S),
                        (b"vary", b"Origin"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"access-control-allow-origin", origin),
                    (b"access-control-expose-headers", _EXPOSE_HEADERS),
                    (b"vary", b"Origin"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _allowed_origin(self, scope: Scope) -> bytes | None:
        """The request's Origin when it is the deployment's and the path a WHIP route."""
        if self.allowed is None or scope["type"] != "http":
            return None
        if not route_of(scope).whip:  # any method: a preflight is an OPTIONS no route serves
            return None
        for name, value in scope["headers"]:
            if name == b"origin":
                return value if value.lower() == self.allowed else None
        return None
