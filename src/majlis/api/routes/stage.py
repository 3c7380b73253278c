"""The stage: requests to speak, roles, leaving, mute and removal (API.md "The stage")."""

from __future__ import annotations

from fastapi import APIRouter, Response

from majlis.api.deps import Me, Svc
from majlis.api.responses import JSON
from majlis.api.schemas import StageRole
from majlis.domain.render import member_json, request_json
from majlis.domain.shapes import RequestList, RequestOut, StageMemberOut

router = APIRouter(prefix="/api/v1/spaces/{space_id}", tags=["stage"])


@router.post(
    "/requests", status_code=201, response_model=None, responses={201: {"model": RequestOut}}
)
async def request_to_speak(space_id: str, me: Me, svc: Svc) -> JSON:
    return JSON(request_json(await svc.stage.request(me, space_id)), status_code=201)


@router.get("/requests", response_model=None, responses={200: {"model": RequestList}})
async def list_requests(space_id: str, me: Me, svc: Svc) -> JSON:
    return JSON(
        RequestList(items=[request_json(r) for r in await svc.stage.requests(me, space_id)])
    )


@router.delete("/requests/{handle}", status_code=204, response_class=Response)
async def drop_request(space_id: str, handle: str, me: Me, svc: Svc) -> Response:
    await svc.stage.drop_request(me, space_id, handle)
    return Response(status_code=204)


@router.put("/stage/{handle}", response_model=None, responses={200: {"model": StageMemberOut}})
async def put_on_stage(space_id: str, handle: str, body: StageRole, me: Me, svc: Svc) -> JSON:
    return JSON(member_json(await svc.stage.put(me, space_id, handle, body.role)))


@router.delete("/stage/{handle}", status_code=204, response_class=Response)
async def take_off_stage(space_id: str, handle: str, me: Me, svc: Svc) -> Response:
    await svc.stage.take_off(me, space_id, handle)
    return Response(status_code=204)


@router.post("/stage/{handle}/mute", status_code=204, response_class=Response)
async def mute(space_id: str, handle: str, me: Me, svc: Svc) -> Response:
    await svc.stage.set_muted(me, space_id, handle, muted=True)
    return Response(status_code=204)


@router.post("/stage/{handle}/unmute", status_code=204, response_class=Response)
async def unmute(space_id: str, handle: str, me: Me, svc: Svc) -> Response:
    await svc.stage.set_muted(me, space_id, handle, muted=False)
    return Response(status_code=204)


@router.post("/removals/{handle}", status_code=204, response_class=Response)
async def remove(space_id: str, handle: str, me: Me, svc: Svc) -> Response:
    await svc.stage.remove(me, space_id, handle)
    return Response(status_code=204)
