"""A clip's page (``/clips/{id}``): a player, who said it and who clipped it, the Space it is
from, a download, and the preview a pasted link shows (OpenGraph with the card and the audio,
oEmbed discovery). Like the Space page, the HTML is the same for everyone; the script shows
the delete button to the clip's author and the Space's host."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from majlis.api.deps import Svc
from majlis.web.pages import fill, render_page
from majlis.web.sharing import absolute, image_tags, oembed_link

router = APIRouter(include_in_schema=False)

#: A clip changes only by being deleted: edges may keep its page a minute.
_CLIP_PAGE_CACHE: Final = "public, max-age=60"


@router.get("/clips/{clip_id}", response_class=HTMLResponse)
async def clip_page(request: Request, clip_id: str, svc: Svc) -> HTMLResponse:
    clip, space = await svc.clips.get(clip_id)
    settings = svc.ctx.settings
    audio = settings.url(f"/api/v1/clips/{clip.id}/audio.m4a")
    seconds = round(clip.duration)
    description = (
        f"{seconds} s from {space.title!s}, hosted by {space.host.display_name} "
        f"(@{space.host.handle}), clipped by @{clip.account.handle} on majlis."
    )
    return render_page(
        request,
        page="clip",
        title=space.title,
        body=fill(
            "clip.html",
            clip_id=clip.id,
            title=space.title,
            space_url=f"/spaces/{space.id}",
            host_name=space.host.display_name,
            host_handle=space.host.handle,
            author_handle=clip.account.handle,
            author_id=str(clip.account.handle).lower(),
            host_id=space.host.handle.lower(),
            audio_url=audio,
            seconds=str(seconds),
        ),
        main_class="narrow",
        cache_control=_CLIP_PAGE_CACHE,
        share={
            "og:type": "music.song",
            "og:title": space.title,
            "og:description": description,
            "og:url": absolute(request, settings.url(f"/clips/{clip.id}")),
            "og:audio": absolute(request, audio),
            "og:audio:type": "audio/mp4",
            **image_tags(request, svc, f"/clips/{clip.id}/card.png", space.title),
        },
        links=oembed_link(request, svc, f"/clips/{clip.id}", space.title),
    )
