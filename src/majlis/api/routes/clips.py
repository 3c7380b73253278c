"""Clips of a Space (issue 15; domain/clips.py has the rules, media/clips.py the cutting)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.responses import FileResponse, Response

from majlis.api.deps import Me, Svc
from majlis.api.responses import JSON
from majlis.api.schemas import NewClip
from majlis.domain.errors import NotFound
from majlis.domain.render import clip_json
from majlis.domain.shapes import ClipOut, ClipPage

router = APIRouter(prefix="/api/v1", tags=["clips"])

#: A clip never changes; it can be deleted, so an edge keeps it an hour, not forever.
_CLIP_AUDIO_CACHE = "public, max-age=3600"


@router.post(
    "/spaces/{space_id}/clips",
    status_code=201,
    response_model=None,
    responses={201: {"model": ClipOut}},
)
async def make_clip(space_id: str, body: NewClip, me: Me, svc: Svc) -> JSON:
    """Clip the last ``seconds`` (default 30, at most 60) of a live Space, or ``start``..``end``
    seconds of its replay once ended; cut from the recording without re-encoding. 403 if the
    host turned clips off or you were removed; 409 if the Space is not recorded, has not
    started, or the recording does not reach the range yet; 429 past 6 clips a minute; 503 +
    Retry-After while this node cuts other clips."""
    clip, space = await svc.clips.make(me, space_id, body.seconds, body.start, body.end)
    return JSON(clip_json(svc.ctx.settings, clip, space), status_code=201)


@router.get("/spaces/{space_id}/clips", response_model=None, responses={200: {"model": ClipPage}})
async def list_clips(
    space_id: str, svc: Svc, cursor: str | None = Query(default=None, max_length=200)
) -> JSON:
    """The Space's clips, newest first, 20 a page."""
    page, space = await svc.clips.of_space(space_id, cursor)
    settings = svc.ctx.settings
    return JSON(
        ClipPage(
            items=[clip_json(settings, clip, space) for clip in page.items],
            next_cursor=page.next_cursor,
        )
    )


@router.get("/clips/{clip_id}", response_model=None, responses={200: {"model": ClipOut}})
async def get_clip(clip_id: str, svc: Svc) -> JSON:
    clip, space = await svc.clips.get(clip_id)
    return JSON(clip_json(svc.ctx.settings, clip, space))


@router.delete("/clips/{clip_id}", status_code=204, response_class=Response)
async def delete_clip(clip_id: str, me: Me, svc: Svc) -> Response:
    """Its author or the Space's host deletes it, audio file and all."""
    await svc.clips.delete(me, clip_id)
    return Response(status_code=204)


@router.get("/clips/{clip_id}/audio.m4a", response_class=FileResponse)
async def clip_audio(clip_id: str, svc: Svc) -> FileResponse:
    """The clip as one MP4 audio file (AAC), ``moov`` first: plays and seeks anywhere."""
    clip, _ = await svc.clips.get(clip_id)
    path = await svc.clip_files.find(clip.id)
    if path is None:
        raise NotFound("the clip's audio is gone (it may have been deleted)")
    return FileResponse(
        path,
        media_type="audio/mp4",
        filename=f"majlis-clip-{clip.id}.m4a",
        headers={"Cache-Control": _CLIP_AUDIO_CACHE},
    )
