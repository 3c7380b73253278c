"""Media over HTTP: WHIP for speakers, LL-HLS for listeners, the replay for everyone.

Listener responses are built to be cached by any edge: parts, segments and the init segment
never change once published (immutable for a year); playlists are short-lived, and a blocking
playlist request (``_HLS_msn``/``_HLS_part``) names a future state, so the edge can collapse
every listener asking for it into one origin request.

WHIP goes to the node that runs the Space's room (issue 6): any other node answers an offer,
once it passed every check, with a 307 to the same path on that node. RFC 9725 §4.5 lets a WHIP
client follow redirects, and 307 (unlike 302/303) keeps the method and the body, so the offer
arrives unchanged; browsers' fetch and httpx (``follow_redirects``) do exactly that. They drop
the Authorization header when the redirect leaves the origin, so the Location carries a
short-lived grant for the caller (security/grants.py) that the owner node accepts instead.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.responses import FileResponse, RedirectResponse

from majlis.api.deps import MaybeSession, Svc
from majlis.domain.errors import (
    BadOffer,
    BadRequest,
    Conflict,
    NotFound,
    Overloaded,
    TooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from majlis.domain.model import Account, Session
from majlis.domain.space_cache import SPACE_ID
from majlis.media.hls.parts.protocol import HlsSource
from majlis.media.hls.stream import BadDirective, NotYet
from majlis.media.hls.vod import vod_playlist
from majlis.media.program_streams import AAC
from majlis.media.sdp import MAX_SDP_BYTES, SdpError, check_offer
from majlis.security.grants import MAX_LENGTH as GRANT_MAX_LENGTH
from majlis.services import Services

router = APIRouter(tags=["media"])

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
IMMUTABLE = "public, max-age=31536000, immutable"
_MEDIA_NAME = re.compile(r"(\d{1,12})(?:\.(\d{1,4}))?\.m4s")
BLOCK_TIMEOUT_S = 6.0
#: How long the first playlist request of a Space that just went live waits for its room.
STARTING_WAIT_S = 3.0
#: ``?grant=`` on a WHIP URL a redirect named (see the module docstring).
Grant = Annotated[str | None, Query(max_length=GRANT_MAX_LENGTH)]


class BadHlsDirective(BadRequest):
    title, slug = "Bad playlist request", "bad-hls-directive"


@router.post(
    "/api/v1/spaces/{space_id}/whip",
    status_code=201,
    response_class=Response,
    responses={201: {"content": {"application/sdp": {}}, "description": "the SDP answer"}},
    # The offer is read raw (request.body()), so FastAPI cannot describe it: say it here.
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "the SDP offer (RFC 9725): one Opus audio m-line, sendrecv",
            "content": {"application/sdp": {"schema": {"type": "string"}}},
        }
    },
)
async def whip_offer(
    space_id: str, request: Request, mine: MaybeSession, svc: Svc, grant: Grant = None
) -> Response:
    """Speak: a stage member posts an SDP offer (one Opus audio m-line, sendrecv). Ending the
    session (device) it was sent with ends the WHIP session."""
    me, auth_session = await _caller(svc, space_id, mine, grant)
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
    owner_url = await svc.media.offer_elsewhere(space_id)
    if owner_url is not None:
        return _redirect(owner_url, request, svc, space_id, me, auth_session)
    answer = await svc.media.offer(space, me, offer, auth_session)
    location = f"/api/v1/spaces/{space_id}/whip/{answer.session_id}"
    return Response(
        answer.sdp, status_code=201, media_type="application/sdp", headers={"Location": location}
    )


@router.delete("/api/v1/spaces/{space_id}/whip/{session_id}", status_code=204)
async def whip_hang_up(
    space_id: str,
    session_id: str,
    request: Request,
    mine: MaybeSession,
    svc: Svc,
    grant: Grant = None,
) -> Response:
    me, auth_session = await _caller(svc, space_id, mine, grant)
    owner_url = await svc.media.hang_up_elsewhere(space_id)
    if owner_url is not None:
        return _redirect(owner_url, request, svc, space_id, me, auth_session)
    await svc.media.hang_up(space_id, session_id, me)
    return Response(status_code=204)


def _redirect(
    owner_url: str,
    request: Request,
    svc: Services,
    space_id: str,
    me: Account,
    auth_session: str,
) -> Response:
    grant = svc.media.grant(space_id, me.handle, auth_session)
    return RedirectResponse(f"{owner_url}{request.url.path}?grant={grant}", status_code=307)


async def _caller(
    svc: Services, space_id: str, mine: tuple[Account, Session] | None, grant: str | None
) -> tuple[Account, str]:
    """The signed-in caller and their session's id, or the ones a redirecting node vouched for
    with a grant."""
    if mine is not None:
        return mine[0], mine[1].id
    if grant is None:
        raise Unauthorized("sign in first: send Authorization: Bearer <token>")
    vouched = svc.media.granted(space_id, grant)
    account = await svc.ctx.store.account_by_handle(vouched.handle) if vouched else None
    if account is None or vouched is None:
        raise Unauthorized("the redirect's grant is not valid (expired?); send the offer again")
    return account, vouched.session_id


async def live_source(svc: Services, space_id: str, rendition: str = AAC) -> HlsSource:
    """The Space's live stream (``rendition``'s: LL-HLS has AAC only), from whichever node runs
    it (the shared part store)."""
    stream = await svc.media.source(space_id, rendition) if SPACE_ID.fullmatch(space_id) else None
    if stream is None:
        raise NotFound("this Space is not live here (yet); its replay is at replay_url")
    return stream


async def live_source_once_open(svc: Services, space_id: str) -> HlsSource:
    """The live stream, waiting up to ``STARTING_WAIT_S`` for a Space that is live but whose room
    has not opened yet (it opens a moment after going live: the lifecycle event, then placement).

    Why: a player that joins in that moment would get a 404, which hls.js treats as fatal; a
    short wait turns it into a slow first answer. Unknown or ended Spaces are 404 at once. The
    wait sleeps until the plane attaches the room's streams (or another node publishes them)."""
    try:
        return await live_source(svc, space_id)
    except NotFound:
        cached = await svc.ctx.space_cache.get(space_id)
        if cached is None or not cached.space.audible(svc.ctx.now()):
            raise
    source = await svc.media.source_within(space_id, AAC, STARTING_WAIT_S)
    if source is not None:
        return source
    raise Overloaded("the Space's stream is starting; try again in a moment", retry_after_s=1)


@router.get("/hls/{space_id}/live.m3u8", response_class=Response, include_in_schema=False)
async def playlist(
    space_id: str,
    svc: Svc,
    msn: Annotated[int | None, Query(alias="_HLS_msn", ge=0)] = None,
    part: Annotated[int | None, Query(alias="_HLS_part", ge=0)] = None,
) -> Response:
    stream = await live_source_once_open(svc, space_id)
    try:
        text = await stream.playlist(msn, part, BLOCK_TIMEOUT_S)
    except BadDirective as exc:
        raise BadHlsDirective(str(exc)) from exc
    except NotYet as exc:
        raise Overloaded("the requested part did not appear in time", retry_after_s=1) from exc
    # A blocking request names a future playlist state: any answer listing that part is a
    # right answer to it forever, so edges may keep it for as long as its parts matter (60 s).
    # A short max-age (it was 6 s) sends every listener who falls behind — a slow phone, a
    # starved load generator — back to the origin once per part: `majlis scaletest` measured
    # 2.2 origin playlist requests per part at 2,000 lagging listeners that way.
    max_age = 60 if msn is not None else 1
    return Response(
        text, media_type=PLAYLIST_TYPE, headers={"Cache-Control": f"public, max-age={max_age}"}
    )


@router.get("/hls/{space_id}/init.mp4", response_class=Response, include_in_schema=False)
async def init_segment(space_id: str, svc: Svc) -> Response:
    stream = await live_source(svc, space_id)
    init = await stream.init()
    if init is None:  # never cache an empty init: it would be "immutable" at the edge
        raise NotFound("the stream has no init segment yet")
    return Response(init, media_type="audio/mp4", headers={"Cache-Control": IMMUTABLE})


@router.get("/hls/{space_id}/{name}", response_class=Response, include_in_schema=False)
async def media_file(space_id: str, name: str, svc: Svc) -> Response:
    match = _MEDIA_NAME.fullmatch(name)
    if match is None:
        raise NotFound("no such part or segment")
    stream = await live_source(svc, space_id)
    msn = int(match.group(1))
    if match.group(2) is None:
        data = await stream.segment(msn)
    else:
        try:
            data = await stream.part(msn, int(match.group(2)), BLOCK_TIMEOUT_S)
        except NotYet as exc:
            raise Overloaded("the hinted part did not appear in time", retry_after_s=1) from exc
    if data is None:
        raise NotFound("no such part or segment (it may have left the live window)")
    return Response(data, media_type="audio/mp4", headers={"Cache-Control": IMMUTABLE})


NO_RECORDING = "this Space has no recording"


@router.get("/api/v1/spaces/{space_id}/replay.m3u8", response_class=Response)
async def replay_playlist(space_id: str, svc: Svc) -> Response:
    """The whole Space as a VOD playlist: byte ranges into the recording file."""
    space = await svc.spaces.get(space_id)
    if space.state != "ended" or not space.record:
        raise NotFound("the replay exists once a recorded Space has ended")
    segments = await svc.media.replay_segments(space_id)  # scanned off the event loop
    if segments is None:
        raise NotFound(NO_RECORDING)
    text = vod_playlist(segments, f"/api/v1/spaces/{space_id}/recording.m4a")
    return Response(text, media_type=PLAYLIST_TYPE, headers={"Cache-Control": "public, max-age=60"})


@router.get("/api/v1/spaces/{space_id}/recording.m4a", response_class=FileResponse)
async def recording_file(space_id: str, svc: Svc) -> FileResponse:
    """Download the whole Space as one audio file (fragmented MP4, AAC), once it has ended.

    Why not while live: the file grows while it is sent, so a download declared one length and
    sent more ("Response content longer than Content-Length", issue 14): 409 until the end."""
    space = await svc.spaces.get(space_id)
    if not space.record:
        raise NotFound("this Space was not recorded")
    if space.state != "ended":
        raise Conflict("the recording is still being made; download it once the Space has ended")
    path = await svc.media.recording(space_id)
    if path is None:
        raise NotFound(NO_RECORDING)
    return FileResponse(
        path,
        media_type="audio/mp4",
        filename=f"majlis-{space_id}.m4a",
        headers={"Cache-Control": "public, max-age=60"},
    )
