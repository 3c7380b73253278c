"""Low-latency DASH for listeners: the MPD, the clock, init segments and growing segments.

Everything here is built for an edge that collapses and streams (``majlis edge-config --engine
varnish``): segments and init segments never change once begun (cacheable for their lifetime),
the MPD changes only at a failover or the end (cached briefly), and a segment request made
early enough is answered while the segment is still being produced, so one origin fetch per
edge feeds every listener of the Space. See media/dash for the rules.
"""

from __future__ import annotations

import re
import time

from fastapi import APIRouter, Response
from starlette.responses import StreamingResponse

from majlis.api.deps import Svc
from majlis.api.media import BLOCK_TIMEOUT_S, IMMUTABLE, live_source, live_source_once_open
from majlis.domain.errors import NotFound, Overloaded
from majlis.media.dash.mpd import AAC, Rendition, render_mpd, xs_datetime
from majlis.media.dash.segments import TooFarAhead, open_segment
from majlis.media.hls.stream import NotYet

router = APIRouter(tags=["media"])

MPD_TYPE = "application/dash+xml"
#: What the MPD offers, by the id its URLs use.
RENDITIONS: dict[str, Rendition] = {AAC.id: AAC}
#: Segments are immutable once complete, and an edge needs them only while they are live.
SEGMENT_CACHE = "public, max-age=60"
#: The MPD changes only at a failover or the end; an edge may keep it this long.
MPD_CACHE = "public, max-age=2"
_SEGMENT_NAME = re.compile(r"(\d{1,12})\.m4s")


@router.get("/dash/time", response_class=Response, include_in_schema=False)
async def utc_time() -> Response:
    """The origin's clock for DASH clients (``urn:mpeg:dash:utc:http-iso:2014``)."""
    return Response(
        xs_datetime(time.time()), media_type="text/plain", headers={"Cache-Control": "no-store"}
    )


@router.get("/dash/{space_id}/live.mpd", response_class=Response, include_in_schema=False)
async def manifest(space_id: str, svc: Svc) -> Response:
    source = await live_source_once_open(svc, space_id)
    state = source.current()
    if state.anchor is None and not state.ended:
        try:  # the room is open but has not published its first chunk (a fraction of a second)
            await source.wait_until(lambda s: s.anchor is not None or s.ended, BLOCK_TIMEOUT_S)
        except NotYet as exc:
            raise Overloaded("the stream has not started yet", retry_after_s=1) from exc
        state = source.current()
    if state.anchor is None:
        raise NotFound("this Space's stream ended before it began")
    chunk_parts = svc.ctx.settings.dash_chunk_parts
    text = render_mpd(state, tuple(RENDITIONS.values()), time.time(), chunk_parts=chunk_parts)
    return Response(text, media_type=MPD_TYPE, headers={"Cache-Control": MPD_CACHE})


def _rendition(name: str) -> Rendition:
    rendition = RENDITIONS.get(name)
    if rendition is None:
        raise NotFound(f"no rendition {name!r}; the MPD lists them")
    return rendition


@router.get(
    "/dash/{space_id}/{rendition}/init.mp4", response_class=Response, include_in_schema=False
)
async def init_segment(space_id: str, rendition: str, svc: Svc) -> Response:
    _rendition(rendition)
    source = await live_source(svc, space_id)
    init = await source.init()
    if init is None:  # never cache an empty init: it would be "immutable" at the edge
        raise NotFound("the stream has no init segment yet")
    return Response(init, media_type="audio/mp4", headers={"Cache-Control": IMMUTABLE})


@router.get("/dash/{space_id}/{rendition}/{name}", response_class=Response, include_in_schema=False)
async def segment(space_id: str, rendition: str, name: str, svc: Svc) -> Response:
    _rendition(rendition)
    match = _SEGMENT_NAME.fullmatch(name)
    if match is None:
        raise NotFound("no such segment: segments are {number}.m4s")
    source = await live_source(svc, space_id)
    try:
        chunks = await open_segment(
            source, int(match.group(1)), BLOCK_TIMEOUT_S, svc.ctx.settings.dash_chunk_parts
        )
    except TooFarAhead as exc:
        raise NotFound(str(exc)) from exc
    except NotYet as exc:
        raise Overloaded("the segment did not begin in time", retry_after_s=1) from exc
    if chunks is None:
        raise NotFound("no such segment (it may have left the live window)")
    return StreamingResponse(
        chunks, media_type="audio/mp4", headers={"Cache-Control": SEGMENT_CACHE}
    )
