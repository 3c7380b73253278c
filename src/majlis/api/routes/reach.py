"""Reach: the live-now and upcoming feeds, and notifications (API.md "Accounts and reach")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import StreamingResponse

from majlis.api.deps import Me, StreamingSession, Svc
from majlis.api.responses import JSON
from majlis.api.schemas import NotificationsSeen
from majlis.api.sse import event_stream
from majlis.domain.render import iso, notification_json
from majlis.domain.shapes import NotificationPage, SeenOut, SpaceList

router = APIRouter(prefix="/api/v1", tags=["reach"])


@router.get("/feed/live", response_model=None, responses={200: {"model": SpaceList}})
async def live_feed(me: Me, svc: Svc) -> JSON:
    """Live Spaces whose host or a stage member I follow, computed when read."""
    return JSON(SpaceList(items=await svc.spaces.many_to_json(await svc.spaces.live_feed(me))))


@router.get("/feed/upcoming", response_model=None, responses={200: {"model": SpaceList}})
async def upcoming_feed(me: Me, svc: Svc) -> JSON:
    return JSON(SpaceList(items=await svc.spaces.many_to_json(await svc.spaces.upcoming_feed(me))))


@router.get("/notifications", response_model=None, responses={200: {"model": NotificationPage}})
async def notifications(
    me: Me,
    svc: Svc,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
) -> JSON:
    page = await svc.notices.inbox(me, cursor, limit)
    return JSON(
        NotificationPage(
            items=[notification_json(n) for n in page.items],
            next_cursor=page.next_cursor,
            seen_at=iso(await svc.notices.seen_at(me)),
        )
    )


@router.post("/notifications/seen", response_model=None, responses={200: {"model": SeenOut}})
async def notifications_seen(body: NotificationsSeen, me: Me, svc: Svc) -> JSON:
    """Mark notices up to ``up_to`` seen: the unread badge clears on every device. The mark
    only moves forward (an older ``up_to`` changes nothing) and never past now."""
    return JSON(SeenOut(seen_at=iso(await svc.notices.mark_seen(me, body.up_to))))


@router.get("/notifications/stream", response_class=StreamingResponse)
async def notification_stream(
    mine: StreamingSession,
    svc: Svc,
    ticket: Annotated[
        str | None,
        Query(
            max_length=200,
            description="for EventSource, which cannot set headers: from POST "
            "/api/v1/stream-tickets, good for one stream within a minute",
        ),
    ] = None,
) -> StreamingResponse:
    """The inbox as Server-Sent Events (``event: notification``), newest as they happen; the
    stream ends when the session it was opened with ends."""
    me, session = mine
    return event_stream(svc.notices.stream(me, session.id), name="notification")
