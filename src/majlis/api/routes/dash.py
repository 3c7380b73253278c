"""Low-latency DASH for listeners: the MPD, the clock, init segments and growing segments.

Everything here is built for an edge that collapses and streams (``majlis edge-config --engine
varnish``): segments and init segments never change once begun (cacheable for their lifetime),
the MPD changes only at a failover or the end (cached briefly), and a segment request made
early enough is answered while the segment is still being produced, so one origin fetch per
edge feeds every listener of the Space. See media/dash for the rules.

Renditions: ``aac`` is the LL-HLS stream (the Space id's in the part store), ``opus`` the speech
rendition (``program_streams.stream_key``); the MPD lists both, Opus the first choice of players
that can play it, and ``/dash/{id}/{rendition}/...`` serves each from its own stream.
"""

from __future__ import annotations

import asyncio
import re
import time

from fastapi import APIRouter, Response
from starlette.responses import StreamingResponse

from majlis.api.deps import Svc
from majlis.api.routes.media import BLOCK_TIMEOUT_S, IMMUTABLE, live_source, live_source_once_open
from majlis.domain.errors import NotFound, Overloaded
from majlis.media.dash.mpd import (
    AAC,
    OPUS,
    Rendition,
    Track,
    chunk_parts,
    render_mpd,
    xs_datetime,
)
from majlis.media.dash.segments import TooFarAhead, open_segment
from majlis.media.hls.stream import NotYet, StreamState
from majlis.media.program import PART_TARGET_S
from majlis.services import Services

router = APIRouter(tags=["media"])

MPD_TYPE = "application/dash+xml"
#: What the MPD offers, by the id its URLs use; the first is the Period's reference (mpd.py).
RENDITIONS: dict[str, Rendition] = {AAC.id: AAC, OPUS.id: OPUS}
#: How long an MPD asked for in the first segment of a Period waits for the other renditions'
#: first parts (Opus's comes ~0.2 s after AAC's).
COMPANION_WAIT_S = 2.0
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
    chunk_s = _chunk_s(svc)
    tracks = [Track(AAC, state, chunk_parts(state, chunk_s))]
    for rendition in list(RENDITIONS.values())[1:]:
        companion = await _in_step_with(svc, space_id, rendition, state)
        if companion is not None:
            tracks.append(Track(rendition, companion, chunk_parts(companion, chunk_s)))
    text = render_mpd(tracks, time.time())
    return Response(text, media_type=MPD_TYPE, headers={"Cache-Control": MPD_CACHE})


def _chunk_s(svc: Services) -> float:
    """How long a chunk lasts: ``MAJLIS_DASH_CHUNK_PARTS`` counts AAC parts (mpd.chunk_parts)."""
    return svc.ctx.settings.dash_chunk_parts * PART_TARGET_S


def _in_step(state: StreamState, reference: StreamState) -> bool:
    """Whether ``state`` belongs in the reference's Period: anchored, and as many failovers in.
    (Another node's mirror holds a dead node's Opus state until the new node's first Opus part
    replaces it; listed beside the new AAC Period, its numbers would be the old Period's.)"""
    return state.anchor is not None and state.discontinuities == reference.discontinuities


async def _in_step_with(
    svc: Services, space_id: str, rendition: Rendition, reference: StreamState
) -> StreamState | None:
    """The state of ``rendition``'s stream when it belongs in the MPD beside the reference's.

    In the reference's first segment of a Period, waits up to ``COMPANION_WAIT_S`` for it: an
    MPD without Opus would be cached by edges and kept by players (dash.js does not change
    AdaptationSets on an update), so the Space's first listeners would all get AAC. Any later a
    missing rendition is left out at once (a node that does not produce it, a rolling upgrade)."""
    loop = asyncio.get_running_loop()
    anchor, last = reference.anchor, reference.last_part
    young = anchor is not None and last is not None and last[0] == anchor.first_msn
    deadline = loop.time() + (COMPANION_WAIT_S if young and not reference.ended else 0.0)
    while True:
        source = await svc.media.source(space_id, rendition.id)
        if source is not None and _in_step(source.current(), reference):
            return source.current()
        remaining = deadline - loop.time()
        if remaining <= 0:
            return None
        if source is None:  # not attached yet (here, or on another node with its first part)
            if await svc.media.source_within(space_id, rendition.id, remaining) is None:
                return None
            continue
        try:
            await source.wait_until(lambda s: _in_step(s, reference), remaining)
        except NotYet:
            return None


def _rendition(name: str) -> Rendition:
    rendition = RENDITIONS.get(name)
    if rendition is None:
        raise NotFound(f"no rendition {name!r}; the MPD lists them")
    return rendition


@router.get(
    "/dash/{space_id}/{rendition}/init.mp4", response_class=Response, include_in_schema=False
)
async def init_segment(space_id: str, rendition: str, svc: Svc) -> Response:
    source = await live_source(svc, space_id, _rendition(rendition).id)
    init = await source.init()
    if init is None:  # never cache an empty init: it would be "immutable" at the edge
        raise NotFound("the stream has no init segment yet")
    return Response(init, media_type="audio/mp4", headers={"Cache-Control": IMMUTABLE})


@router.get("/dash/{space_id}/{rendition}/{name}", response_class=Response, include_in_schema=False)
async def segment(space_id: str, rendition: str, name: str, svc: Svc) -> Response:
    wanted = _rendition(rendition)
    match = _SEGMENT_NAME.fullmatch(name)
    if match is None:
        raise NotFound("no such segment: segments are {number}.m4s")
    source = await live_source(svc, space_id, wanted.id)
    parts = chunk_parts(source.current(), _chunk_s(svc))
    try:
        chunks = await open_segment(source, int(match.group(1)), BLOCK_TIMEOUT_S, parts)
    except TooFarAhead as exc:
        raise NotFound(str(exc)) from exc
    except NotYet as exc:
        raise Overloaded("the segment did not begin in time", retry_after_s=1) from exc
    if chunks is None:
        raise NotFound("no such segment (it may have left the live window)")
    return StreamingResponse(
        chunks, media_type="audio/mp4", headers={"Cache-Control": SEGMENT_CACHE}
    )
