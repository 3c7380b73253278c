"""The audience path: join, heartbeat, snapshot, events, reactions; and, for a signed-in
viewer, who of the people they follow is in the audience.

These are the endpoints a million listeners hit; they touch no SQL on the hot path (see
``domain.audience``) and answer with pre-encoded bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.responses import StreamingResponse

from majlis.api.deps import MaybeMe, Me, Svc, client_ip
from majlis.api.responses import JSON
from majlis.api.schemas import Reaction
from majlis.api.sse import event_stream
from majlis.domain.shapes import AudienceOut, JoinOut, SnapshotOut
from majlis.security.listener_ids import MAX_LENGTH as LISTENER_ID_MAX
from majlis.types import JSON as JSONObject

router = APIRouter(prefix="/api/v1/spaces/{space_id}", tags=["audience"])


@router.post("/join", response_model=None, responses={200: {"model": JoinOut}})
async def join(space_id: str, request: Request, me: MaybeMe, svc: Svc) -> JSON:
    """Everything a player needs. A token is optional; with one, removed accounts are refused."""
    return JSON(await svc.audience.join(space_id, me, client_ip(request)))


@router.post("/heartbeat", status_code=204, response_class=Response)
async def heartbeat(
    space_id: str,
    request: Request,
    svc: Svc,
    listener: Annotated[str, Query(min_length=1, max_length=LISTENER_ID_MAX)],
) -> Response:
    """Keeps a listener counted for about two heartbeat intervals."""
    await svc.audience.heartbeat(space_id, listener, client_ip(request))
    return Response(status_code=204)


@router.get("/snapshot", response_model=None, responses={200: {"model": SnapshotOut}})
async def snapshot(space_id: str, request: Request, svc: Svc) -> Response:
    """Cacheable by any shared cache for a second: at a million listeners, edges absorb it."""
    snap = await svc.audience.snapshot(space_id)
    headers = {"Cache-Control": "public, max-age=1", "ETag": snap.etag}
    if snap.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(snap.body, media_type="application/json", headers=headers)


@router.get("/audience", response_model=None, responses={200: {"model": AudienceOut}})
async def audience(space_id: str, me: Me, svc: Svc) -> JSON:
    """The listener count and up to 8 people I follow who are listening now, signed in (a page
    asks every ~15 s). Mine alone: no shared cache may keep it."""
    body = await svc.audience.followed_listening(me, space_id)
    return JSON(body, headers={"Cache-Control": "private, no-store"})


@router.get("/events", response_class=StreamingResponse)
async def events(space_id: str, svc: Svc) -> StreamingResponse:
    """Server-Sent Events: a snapshot, then stage, request, mute, removal and reaction events."""
    stream = svc.audience.events(space_id)
    first = await anext(stream)  # raises 404 before the stream starts if the Space is unknown

    async def replay() -> AsyncIterator[JSONObject]:
        yield first
        async for item in stream:
            yield item

    return event_stream(replay())


@router.post("/reactions", status_code=202, response_class=Response)
async def react(space_id: str, body: Reaction, request: Request, me: Me, svc: Svc) -> Response:
    await svc.audience.react(me, space_id, body.emoji, client_ip(request))
    return Response(status_code=202)
