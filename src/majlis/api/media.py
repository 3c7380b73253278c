"""Media over HTTP: WHIP for speakers, LL-HLS for listeners, the replay for everyone.

Listener responses are built to be cached by any edge: parts, segments and the init segment
never change once published (immutable for a year); playlists are short-lived, and a blocking
playlist request (``_HLS_msn``/``_HLS_part``) names a future state, so the edge can collapse
every listener asking for it into one origin request.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.responses import FileResponse

from majlis.api.deps import Me, Svc
from majlis.domain.errors import (
    BadOffer,
    BadRequest,
    NotFound,
    Overloaded,
    TooLarge,
    UnsupportedMediaType,
)
from majlis.media.hls.stream import BadDirective, LiveStream, NotYet
from majlis.media.hls.vod import vod_playlist
from majlis.media.recording import RecordingIndex
from majlis.media.sdp import MAX_SDP_BYTES, SdpError, check_offer
from majlis.services import Services

router = APIRouter(tags=["media"])

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
IMMUTABLE = "public, max-age=31536000, immutable"
_MEDIA_NAME = re.compile(r"(\d{1,12})(?:\.(\d{1,4}))?\.m4s")
BLOCK_TIMEOUT_S = 6.0


class BadHlsDirective(BadRequest):
    title, slug = "Bad playlist request", "bad-hls-directive"


@router.post(
    "/api/v1/spaces/{space_id}/whip",
    status_code=201,
    response_class=Response,
    responses={201: {"content": {"application/sdp": {}}, "description": "the SDP answer"}},
)
async def whip_offer(space_id: str, request: Request, me: Me, svc: Svc) -> Response:
    """Speak: a stage member posts an SDP offer (one Opus audio m-line, sendrecv)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/sdp":
        raise UnsupportedMediaType("send the offer with Content-Type: application/sdp")
    body = await request.body()
    if len(body) > MAX_SDP_BYTES:
        raise TooLarge(f"the SDP offer must be at most {MAX_SDP_BYTES} bytes")
    space = await svc.media.authorize(space_id, me)
    try:
        offer = check_offer(body)
    except SdpError as exc:
        raise BadOffer(str(exc)) from exc
    answer = await svc.media.offer(space, me, offer)
    location = f"/api/v1/spaces/{space_id}/whip/{answer.session_id}"
    return Response(
        answer.sdp, status_code=201, media_type="application/sdp", headers={"Location": location}
    )


@router.delete("/api/v1/spaces/{space_id}/whip/{session_id}", status_code=204)
async def whip_hang_up(space_id: str, session_id: str, me: Me, svc: Svc) -> Response:
    await svc.media.hang_up(space_id, session_id, me)
    return Response(status_code=204)


def _stream(svc: Services, space_id: str) -> LiveStream:
    stream = svc.media.stream(space_id)
    if stream is None:
        raise NotFound("this Space is not live here (yet); its replay is at replay_url")
    return stream


@router.get("/hls/{space_id}/live.m3u8", response_class=Response, include_in_schema=False)
async def playlist(
    space_id: str,
    svc: Svc,
    msn: Annotated[int | None, Query(alias="_HLS_msn", ge=0)] = None,
    part: Annotated[int | None, Query(alias="_HLS_part", ge=0)] = None,
) -> Response:
    stream = _stream(svc, space_id)
    try:
        text = await stream.playlist(msn, part, BLOCK_TIMEOUT_S)
    except BadDirective as exc:
        raise BadHlsDirective(str(exc)) from exc
    except NotYet as exc:
        raise Overloaded("the requested part did not appear in time", retry_after_s=1) from exc
    # A blocking request names a future playlist state: cacheable a little longer than the
    # plain playlist, whose next version is at most one part away.
    max_age = 6 if msn is not None else 1
    return Response(
        text, media_type=PLAYLIST_TYPE, headers={"Cache-Control": f"public, max-age={max_age}"}
    )


@router.get("/hls/{space_id}/init.mp4", response_class=Response, include_in_schema=False)
async def init_segment(space_id: str, svc: Svc) -> Response:
    stream = _stream(svc, space_id)
    return Response(stream.init, media_type="audio/mp4", headers={"Cache-Control": IMMUTABLE})


@router.get("/hls/{space_id}/{name}", response_class=Response, include_in_schema=False)
async def media_file(space_id: str, name: str, svc: Svc) -> Response:
    match = _MEDIA_NAME.fullmatch(name)
    if match is None:
        raise NotFound("no such part or segment")
    stream = _stream(svc, space_id)
    msn = int(match.group(1))
    if match.group(2) is None:
        data = stream.segment(msn)
    else:
        try:
            data = await stream.part(msn, int(match.group(2)), BLOCK_TIMEOUT_S)
        except NotYet as exc:
            raise Overloaded("the hinted part did not appear in time", retry_after_s=1) from exc
    if data is None:
        raise NotFound("no such part or segment (it may have left the live window)")
    return Response(data, media_type="audio/mp4", headers={"Cache-Control": IMMUTABLE})


def _recording(svc: Services, space_id: str) -> Path:
    path = svc.media.recording_path(space_id)
    if not path.is_file():
        raise NotFound("this Space has no recording")
    return path


@router.get("/api/v1/spaces/{space_id}/replay.m3u8", response_class=Response)
async def replay_playlist(space_id: str, svc: Svc) -> Response:
    """The whole Space as a VOD playlist: byte ranges into the recording file."""
    space = await svc.spaces.get(space_id)
    if space.state != "ended" or not space.record:
        raise NotFound("the replay exists once a recorded Space has ended")
    path = _recording(svc, space_id)
    index = RecordingIndex.scan(path)
    text = vod_playlist(index, f"/api/v1/spaces/{space_id}/recording.m4a")
    return Response(text, media_type=PLAYLIST_TYPE, headers={"Cache-Control": "public, max-age=60"})


@router.get("/api/v1/spaces/{space_id}/recording.m4a", response_class=FileResponse)
async def recording_file(space_id: str, svc: Svc) -> FileResponse:
    """Download the whole Space as one audio file (fragmented MP4, AAC)."""
    space = await svc.spaces.get(space_id)
    if not space.record:
        raise NotFound("this Space was not recorded")
    return FileResponse(
        _recording(svc, space_id),
        media_type="audio/mp4",
        filename=f"majlis-{space_id}.m4a",
        headers={"Cache-Control": "public, max-age=60"},
    )
