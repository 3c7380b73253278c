"""Spaces: create, list, read, start, end, and reminders (API.md "Spaces"); the pre-show's
doors and teaser (docs/architecture.md "Doors open before the show")."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from majlis.api.deps import Me, Svc
from majlis.api.responses import JSON
from majlis.api.schemas import HANDLE_PATTERN, LinkPin, NewSpace, SpaceChange
from majlis.domain.shapes import ReminderOut, SpaceOut, SpacePage
from majlis.media.teaser import TEASER_TYPES

router = APIRouter(prefix="/api/v1", tags=["spaces"])


@router.post("/spaces", status_code=201, response_model=None, responses={201: {"model": SpaceOut}})
async def create_space(body: NewSpace, me: Me, svc: Svc) -> JSON:
    """Without ``scheduled_start`` the Space goes live at once; with it, it is scheduled.
    ``doors_open_minutes`` (with ``scheduled_start``) opens a pre-show that many minutes early."""
    space = await svc.spaces.create(
        me, body.title, body.scheduled_start, body.record, body.doors_open_minutes
    )
    return JSON(await svc.spaces.to_json(space), status_code=201)


@router.get("/spaces", response_model=None, responses={200: {"model": SpacePage}})
async def list_spaces(
    svc: Svc,
    state: Literal["live", "scheduled", "ended"] | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    host: Annotated[str | None, Query(pattern=HANDLE_PATTERN)] = None,
) -> JSON:
    """Spaces by state, newest first (scheduled: soonest first); ``host`` keeps one host's."""
    account = None if host is None else await svc.accounts.get(host)  # unknown: 404
    page = await svc.spaces.page(state, cursor, limit, account)
    return JSON(
        SpacePage(items=await svc.spaces.many_to_json(page.items), next_cursor=page.next_cursor)
    )


@router.get("/spaces/{space_id}", response_model=None, responses={200: {"model": SpaceOut}})
async def get_space(space_id: str, svc: Svc) -> JSON:
    return JSON(await svc.spaces.to_json(await svc.spaces.get(space_id)))


@router.patch("/spaces/{space_id}", response_model=None, responses={200: {"model": SpaceOut}})
async def change_space(space_id: str, body: SpaceChange, me: Me, svc: Svc) -> JSON:
    """The host changes what it sends: ``doors_open_minutes`` while the Space is scheduled and
    its doors are still closed (409 once they are open: they stay open until the start);
    ``clips_allowed``, ``captions`` and ``language`` at any time (clips and cues already made
    stay; captions recognize the language from the next utterance)."""
    space = await svc.spaces.hosted(me, space_id, "change")
    if body.doors_open_minutes is not None:
        space = await svc.spaces.set_doors_open(me, space_id, body.doors_open_minutes)
    if body.clips_allowed is not None:
        space = await svc.clips.allow(me, space_id, body.clips_allowed)
    if body.language is not None:
        space = await svc.transcripts.set_language(me, space_id, body.language)
    if body.captions is not None:
        space = await svc.transcripts.switch(me, space_id, body.captions)
    return JSON(await svc.spaces.to_json(space))


_TEASER_BODY = {
    "required": True,
    "content": {
        media_type: {"schema": {"type": "string", "format": "binary"}}
        for media_type in sorted(TEASER_TYPES)
    },
}


@router.put(
    "/spaces/{space_id}/teaser",
    response_model=None,
    responses={200: {"model": SpaceOut}},
    openapi_extra={"requestBody": _TEASER_BODY},
)
async def put_teaser(space_id: str, request: Request, me: Me, svc: Svc) -> JSON:
    """The host or a cohost uploads the pre-show's looping teaser (while scheduled): audio as
    the body (Ogg/Opus, MP3, MP4/AAC, WAV, FLAC, WebM), at most ``teaser_max_bytes`` (4 MiB)
    and ``teaser_max_s`` (120 s) of audio. It is decoded at once: 415 for another media type,
    413 too large, 422 not decodable audio, 409 unless the Space is scheduled. Doors already
    open switch to it within a second."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    space = await svc.spaces.put_teaser(me, space_id, media_type, await request.body())
    return JSON(await svc.spaces.to_json(space))


@router.delete("/spaces/{space_id}/teaser", status_code=204, response_class=Response)
async def delete_teaser(space_id: str, me: Me, svc: Svc) -> Response:
    """Back to the default hold audio (host or cohost, while scheduled)."""
    await svc.spaces.delete_teaser(me, space_id)
    return Response(status_code=204)


@router.put("/spaces/{space_id}/link", response_model=None, responses={200: {"model": SpaceOut}})
async def pin_link(space_id: str, body: LinkPin, me: Me, svc: Svc) -> JSON:
    """The host or a cohost pins one link to the Space (replacing any other), until it ends:
    http or https, no credentials, at most 2,048 characters; the server never fetches it
    (422 otherwise, 409 once ended). Everyone in the room sees it at once (event ``link``)."""
    return JSON(await svc.spaces.to_json(await svc.links.pin(me, space_id, body.url, body.title)))


@router.delete("/spaces/{space_id}/link", response_model=None, responses={200: {"model": SpaceOut}})
async def unpin_link(space_id: str, me: Me, svc: Svc) -> JSON:
    """The host or a cohost takes the pinned link down."""
    return JSON(await svc.spaces.to_json(await svc.links.unpin(me, space_id)))


@router.post("/spaces/{space_id}/start", response_model=None, responses={200: {"model": SpaceOut}})
async def start_space(space_id: str, me: Me, svc: Svc) -> JSON:
    return JSON(await svc.spaces.to_json(await svc.spaces.start(me, space_id)))


@router.post("/spaces/{space_id}/end", response_model=None, responses={200: {"model": SpaceOut}})
async def end_space(space_id: str, me: Me, svc: Svc) -> JSON:
    return JSON(await svc.spaces.to_json(await svc.spaces.end(me, space_id)))


@router.get(
    "/spaces/{space_id}/reminder", response_model=None, responses={200: {"model": ReminderOut}}
)
async def get_reminder(space_id: str, me: Me, svc: Svc) -> JSON:
    """Whether I asked to be reminded of this Space: the button shows it on every device."""
    return JSON(ReminderOut(reminder=await svc.spaces.reminded(me, space_id)))


@router.post("/spaces/{space_id}/reminder", status_code=204, response_class=Response)
async def add_reminder(space_id: str, me: Me, svc: Svc) -> Response:
    await svc.spaces.remind(me, space_id)
    return Response(status_code=204)


@router.delete("/spaces/{space_id}/reminder", status_code=204, response_class=Response)
async def delete_reminder(space_id: str, me: Me, svc: Svc) -> Response:
    await svc.spaces.unremind(me, space_id)
    return Response(status_code=204)
