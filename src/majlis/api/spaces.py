"""Spaces: create, list, read, start, end, and reminders (API.md "Spaces")."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from majlis.api.deps import Me, Svc
from majlis.api.responses import JSON
from majlis.api.schemas import NewSpace, SpaceOut, SpacePage

router = APIRouter(prefix="/api/v1", tags=["spaces"])


@router.post("/spaces", status_code=201, response_model=None, responses={201: {"model": SpaceOut}})
async def create_space(body: NewSpace, me: Me, svc: Svc) -> JSON:
    """Without ``scheduled_start`` the Space goes live at once; with it, it is scheduled."""
    space = await svc.spaces.create(me, body.title, body.scheduled_start, body.record)
    return JSON(await svc.spaces.to_json(space), status_code=201)


@router.get("/spaces", response_model=None, responses={200: {"model": SpacePage}})
async def list_spaces(
    svc: Svc,
    state: Literal["live", "scheduled", "ended"] | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JSON:
    page = await svc.spaces.page(state, cursor, limit)
    return JSON(
        {"items": await svc.spaces.many_to_json(page.items), "next_cursor": page.next_cursor}
    )


@router.get("/spaces/{space_id}", response_model=None, responses={200: {"model": SpaceOut}})
async def get_space(space_id: str, svc: Svc) -> JSON:
    return JSON(await svc.spaces.to_json(await svc.spaces.get(space_id)))


@router.post("/spaces/{space_id}/start", response_model=None, responses={200: {"model": SpaceOut}})
async def start_space(space_id: str, me: Me, svc: Svc) -> JSON:
    return JSON(await svc.spaces.to_json(await svc.spaces.start(me, space_id)))


@router.post("/spaces/{space_id}/end", response_model=None, responses={200: {"model": SpaceOut}})
async def end_space(space_id: str, me: Me, svc: Svc) -> JSON:
    return JSON(await svc.spaces.to_json(await svc.spaces.end(me, space_id)))


@router.post("/spaces/{space_id}/reminder", status_code=204, response_class=Response)
async def add_reminder(space_id: str, me: Me, svc: Svc) -> Response:
    await svc.spaces.remind(me, space_id)
    return Response(status_code=204)


@router.delete("/spaces/{space_id}/reminder", status_code=204, response_class=Response)
async def delete_reminder(space_id: str, me: Me, svc: Svc) -> Response:
    await svc.spaces.unremind(me, space_id)
    return Response(status_code=204)
