"""The embed players (``/embed/spaces/{id}``, ``/embed/clips/{id}``): what the oEmbed answer
iframes into a news page (``sharing.py``).

Why a page of its own and not the Space page in a frame: a compact card (title, host, state,
one play control) that fits 560x200, with no site header, sign-in or stage controls. Why only
these pages relax ``frame-ancestors``: every other page refuses to be framed (clickjacking: a
framed Space page could trick a host into ending their Space); a player has nothing to trick
anyone into but listening.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from majlis.api.deps import Svc
from majlis.domain.errors import NotFound
from majlis.domain.space_cache import SPACE_ID
from majlis.web.pages import STATIC_PATH, fill, module_graph, page_lang
from majlis.web.security_headers import CONTENT_SECURITY_POLICY, SECURITY_HEADERS

router = APIRouter(include_in_schema=False)

#: The site's policy with one change: any site may frame the player.
EMBED_CSP: Final = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors *")
_EMBED_HEADERS: Final = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": EMBED_CSP,
    # The page that frames us may be told where its reader came from, not what they heard.
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cache-Control": "public, max-age=10",
    "Vary": "Accept-Language, Cookie",
}
_VENDOR: Final = ("vendor/dash.mediaplayer.min.js", "vendor/hls.min.js")


def _embed_page(request: Request, title: str, body: str) -> HTMLResponse:
    lang = page_lang(request)
    scripts = "\n".join(
        [
            *(f'<script src="{STATIC_PATH}/{src}" defer></script>' for src in _VENDOR),
            *(
                f'<link rel="modulepreload" href="{STATIC_PATH}/js/{src}">'
                for src in module_graph("embed.js")
            ),
            f'<script type="module" src="{STATIC_PATH}/js/embed.js"></script>',
        ]
    )
    document = (
        fill(
            "embed_layout.html",
            lang=lang,
            dir="rtl" if lang == "ar" else "ltr",
            title=f"{title} · majlis",
        )
        .replace("<!--scripts-->", scripts)
        .replace("<!--body-->", body)
    )
    return HTMLResponse(document, headers=_EMBED_HEADERS)


@router.get("/embed/spaces/{space_id}", response_class=HTMLResponse)
async def embed_space(request: Request, space_id: str, svc: Svc) -> HTMLResponse:
    if not SPACE_ID.fullmatch(space_id):
        raise NotFound("there is no Space at this address")
    space = await svc.spaces.get(space_id)
    body = fill(
        "embed.html",
        kind="space",
        id=space.id,
        state=space.state,
        title=space.title,
        page_url=svc.ctx.settings.url(f"/spaces/{space.id}"),
        host_name=space.host.display_name,
        host_handle=space.host.handle,
        audio_url="",
    )
    return _embed_page(request, space.title, body)


@router.get("/embed/clips/{clip_id}", response_class=HTMLResponse)
async def embed_clip(request: Request, clip_id: str, svc: Svc) -> HTMLResponse:
    clip, space = await svc.clips.get(clip_id)
    body = fill(
        "embed.html",
        kind="clip",
        id=clip.id,
        state="clip",
        title=space.title,
        page_url=svc.ctx.settings.url(f"/clips/{clip.id}"),
        host_name=space.host.display_name,
        host_handle=space.host.handle,
        audio_url=svc.ctx.settings.url(f"/api/v1/clips/{clip.id}/audio.m4a"),
    )
    return _embed_page(request, space.title, body)
