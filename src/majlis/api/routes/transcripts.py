"""The transcript of a Space (issue 16): its cues as JSON, WebVTT and SRT; the host deletes it.

Why the downloads are separate addresses and not content negotiation: people click a link to
download a file, and players and tools are given a URL; an ``Accept`` header is neither.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from majlis.api.deps import Me, Svc
from majlis.api.responses import JSON
from majlis.domain.render import cue_json
from majlis.domain.shapes import TranscriptOut
from majlis.domain.subtitles import srt, webvtt

router = APIRouter(prefix="/api/v1", tags=["transcripts"])

#: Live, cues arrive every few seconds; an edge may still share a copy for a moment.
_TRANSCRIPT_CACHE = "public, max-age=2"


def _download(body: str, media_type: str, space_id: str, suffix: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={
            "Cache-Control": _TRANSCRIPT_CACHE,
            "Content-Disposition": f'inline; filename="space-{space_id}.{suffix}"',
        },
    )


@router.get(
    "/spaces/{space_id}/transcript", response_model=None, responses={200: {"model": TranscriptOut}}
)
async def transcript(space_id: str, svc: Svc) -> JSON:
    """Every cue so far, in the order said, each with its speaker; times are seconds since the
    Space went live, that is, positions in its replay. Empty while captions are off."""
    space, cues = await svc.transcripts.read(space_id)
    body = TranscriptOut(
        space={"id": space.id, "title": space.title, "state": space.state},
        cues=[cue_json(cue) for cue in cues],
    )
    return JSON(body, headers={"Cache-Control": _TRANSCRIPT_CACHE})


@router.get(
    "/spaces/{space_id}/transcript.vtt",
    response_class=Response,
    responses={200: {"content": {"text/vtt": {}}}},
)
async def transcript_vtt(space_id: str, svc: Svc) -> Response:
    """The transcript as WebVTT, each cue in a ``<v>`` span naming its speaker."""
    space, cues = await svc.transcripts.read(space_id)
    return _download(webvtt(cues), "text/vtt; charset=utf-8", space.id, "vtt")


@router.get(
    "/spaces/{space_id}/transcript.srt",
    response_class=Response,
    responses={200: {"content": {"application/x-subrip": {}}}},
)
async def transcript_srt(space_id: str, svc: Svc) -> Response:
    """The transcript as SubRip, each cue's text after its speaker's name."""
    space, cues = await svc.transcripts.read(space_id)
    return _download(srt(cues), "application/x-subrip; charset=utf-8", space.id, "srt")


@router.delete("/spaces/{space_id}/transcript", status_code=204, response_class=Response)
async def delete_transcript(space_id: str, me: Me, svc: Svc) -> Response:
    """The host deletes the whole transcript, for good (captions, if on, go on from now)."""
    await svc.transcripts.delete(me, space_id)
    return Response(status_code=204)
