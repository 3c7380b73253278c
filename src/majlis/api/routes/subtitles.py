"""Captions for HLS players (issue 16): the multivariant playlist (``hls_main_url``), and its
WebVTT subtitles rendition, segment for segment beside the live audio (media/hls/subtitles.py).

Registered before the media routes: ``/hls/{id}/main.m3u8`` would otherwise be taken for a
part's name there.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from majlis.api.deps import Svc
from majlis.api.routes.media import BLOCK_TIMEOUT_S, PLAYLIST_TYPE, live_source_once_open
from majlis.domain.errors import NotFound
from majlis.domain.model import Space
from majlis.media.hls.fmp4.reader import find_path, read_fragment, read_timescale
from majlis.media.hls.subtitles import (
    multivariant,
    read_audio_playlist,
    subtitles_playlist,
    webvtt_segment,
)

router = APIRouter(tags=["media"])

#: A listed subtitle segment does not change (its cues were in before it was listed).
_SEGMENT_CACHE = "public, max-age=60"


async def _audible(svc: Svc, space_id: str) -> Space:
    cached = await svc.ctx.space_cache.get(space_id)
    if cached is None or not cached.space.audible(svc.ctx.now()):
        raise NotFound("this Space is not live; its replay is at replay_url")
    return cached.space


@router.get("/hls/{space_id}/main.m3u8", response_class=Response, include_in_schema=False)
async def main_playlist(space_id: str, svc: Svc) -> Response:
    space = await _audible(svc, space_id)
    text = multivariant(space.language, space.captions)
    return Response(text, media_type=PLAYLIST_TYPE, headers={"Cache-Control": "public, max-age=1"})


@router.get("/hls/{space_id}/captions.m3u8", response_class=Response, include_in_schema=False)
async def captions_playlist(space_id: str, svc: Svc) -> Response:
    await _audible(svc, space_id)
    stream = await live_source_once_open(svc, space_id)
    audio = read_audio_playlist(await stream.playlist(None, None, BLOCK_TIMEOUT_S))
    text = subtitles_playlist(audio, svc.ctx.now().timestamp())
    return Response(text, media_type=PLAYLIST_TYPE, headers={"Cache-Control": "public, max-age=1"})


@router.get("/hls/{space_id}/captions/{name}", response_class=Response, include_in_schema=False)
async def captions_segment(space_id: str, name: str, svc: Svc) -> Response:
    msn_text = name.removesuffix(".vtt")
    if not name.endswith(".vtt") or not msn_text.isdigit() or len(msn_text) > 12:
        raise NotFound("no such subtitle segment")
    space = await _audible(svc, space_id)
    stream = await live_source_once_open(svc, space_id)
    audio = read_audio_playlist(await stream.playlist(None, None, BLOCK_TIMEOUT_S))
    segment = audio.segment(int(msn_text))
    media, init = await stream.segment(int(msn_text)), await stream.init()
    if segment is None or media is None or init is None or space.started_at is None:
        raise NotFound("no such subtitle segment (it may have left the live window)")
    moof = find_path(media, "moof")
    if moof is None:
        raise NotFound("the segment has no fragment")
    decode_time_s = read_fragment(media, moof).base_media_decode_time / read_timescale(init)
    started = space.started_at.timestamp()
    start = segment.date - started
    cues = await svc.ctx.store.cues_between(space.id, start, start + segment.duration)
    text = webvtt_segment(cues, segment, started, decode_time_s)
    return Response(
        text, media_type="text/vtt; charset=utf-8", headers={"Cache-Control": _SEGMENT_CACHE}
    )
