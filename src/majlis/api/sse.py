"""Server-Sent Events from an async iterator of JSON events, with keep-alives.

Why keep-alives: proxies and load balancers close idle connections (nginx after 60 s by default);
a comment line every 15 s keeps the stream open and lets us notice clients that went away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
from starlette.responses import StreamingResponse

KEEPALIVE_S = 15.0
log = logging.getLogger(__name__)


def event_stream(
    events: AsyncIterator[Mapping[str, Any]],
    name: str | None = None,
    keepalive_s: float = KEEPALIVE_S,
) -> StreamingResponse:
    """Each event is sent as ``event: <name or its "type">`` with the JSON as ``data``."""

    async def body() -> AsyncIterator[bytes]:
        yield b"retry: 3000\n\n"
        iterator = aiter(events)
        next_event: asyncio.Task[Mapping[str, Any]] | None = None
        try:
            while True:
                if next_event is None:
                    next_event = asyncio.ensure_future(anext(iterator))
                done, _ = await asyncio.wait({next_event}, timeout=keepalive_s)
                if not done:
                    yield b": keep-alive\n\n"
                    continue
                try:
                    item = next_event.result()
                except StopAsyncIteration:
                    return
                except Exception:
                    # End the stream cleanly; EventSource reconnects and starts from a snapshot.
                    log.exception("event stream source failed")
                    return
                next_event = None
                kind = name or str(item.get("type", "message"))
                yield b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(item) + b"\n\n"
        finally:
            if next_event is not None:
                next_event.cancel()
                with contextlib.suppress(BaseException):
                    await next_event
            closer = getattr(iterator, "aclose", None)
            if closer is not None:
                with contextlib.suppress(BaseException):
                    await closer()

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
