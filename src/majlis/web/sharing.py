"""How a majlis link travels (issue 15, "share cards and embeds"): the card image a chat app or
a social site shows for a Space, a clip or a person, and the oEmbed answer a news site's CMS
asks for when an editor pastes a link, which iframes the embed player (``embeds.py``).

Why the card is rendered here (``cards.py``) and not fetched from a service: nothing leaves the
node, it works offline, and Arabic is shaped by the same engine (raqm) everywhere. Why cached
a minute per node, behind a small semaphore: a viral link brings crawlers from every chat app
at once; one render (~30 ms of a core) per card per minute is what that costs, and past two
renders in flight a crawler is told to come back (503 + Retry-After) rather than queueing.
"""

from __future__ import annotations

import asyncio
import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from majlis.api.deps import Svc
from majlis.api.responses import JSON, problem
from majlis.caching import TtlCache
from majlis.domain.errors import NotFound, Overloaded
from majlis.domain.model import Account, Clip, Space
from majlis.domain.space_cache import SPACE_ID
from majlis.web.cards import HEIGHT, WIDTH, Card, is_arabic, render_card

router = APIRouter(include_in_schema=False)

_CARD_CACHE: Final = "public, max-age=60"
_RENDERS_IN_FLIGHT: Final = 2


class _Cards:
    """One app's drawn cards and its renders in flight (on the app, not the module: each app
    serves on its own event loop, and a cache's pending loads belong to one loop)."""

    def __init__(self) -> None:
        self.drawn: TtlCache[Card, bytes] = TtlCache(60.0, 2_000)
        self.renders = asyncio.Semaphore(_RENDERS_IN_FLIGHT)


def _cards_of(request: Request) -> _Cards:
    cards: _Cards | None = getattr(request.app.state, "share_cards", None)
    if cards is None:
        cards = request.app.state.share_cards = _Cards()
    return cards


#: The embed player's size: a compact audio card, as X's and SoundCloud's audio embeds are.
EMBED_WIDTH: Final = 560
EMBED_HEIGHT: Final = 200
_OEMBED_PATH: Final = re.compile(r"^/(?:embed/)?(spaces|clips)/([A-Za-z0-9_-]{1,16})/?$")
_HANDLE: Final = re.compile(r"[A-Za-z0-9_]{1,32}")


def absolute(request: Request, url: str) -> str:
    """``url`` as a preview needs it: absolute. Without ``public_url`` the settings give a path,
    completed from the address the request came to."""
    return url if "://" in url else str(request.base_url).rstrip("/") + url


_ARABIC_MONTHS: Final = (
    "يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو",
    "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر",
)  # fmt: skip


def _when(at: datetime, arabic: bool) -> str:
    """A start time in the card's language (UTC: a crawler's reader could be anywhere)."""
    if arabic:
        return f"{at.day} {_ARABIC_MONTHS[at.month - 1]} {at.year} · {at:%H:%M} UTC"
    return at.strftime("%d %b %Y · %H:%M UTC")


def space_card(space: Space) -> Card:
    when = ""
    if space.state == "scheduled" and space.scheduled_start is not None:
        when = _when(space.scheduled_start, is_arabic(space.title))
    return Card(
        title=space.title,
        host_name=space.host.display_name,
        host_handle=space.host.handle,
        state=space.state,
        detail=when,
    )


def clip_card(clip: Clip, space: Space) -> Card:
    return Card(
        title=space.title,
        host_name=space.host.display_name,
        host_handle=space.host.handle,
        state="clip",
        detail=(
            # No @handle here: a neutral "@" at a right-to-left line's end is drawn after it.
            f"مقطع من {round(clip.duration)} ثانية"
            if is_arabic(space.title)
            else f"A {round(clip.duration)} s clip · clipped by @{clip.account.handle}"
        ),
    )


def profile_card(account: Account) -> Card:
    return Card(
        title=account.display_name,
        host_name=account.display_name,
        host_handle=account.handle,
        state="profile",
    )


def image_tags(request: Request, svc: Svc, path: str, alt: str) -> dict[str, str]:
    """The tags that make a preview a large card with our image."""
    return {
        "og:image": absolute(request, svc.ctx.settings.url(path)),
        "og:image:type": "image/png",
        "og:image:width": str(WIDTH),
        "og:image:height": str(HEIGHT),
        "og:image:alt": alt,
        "twitter:card": "summary_large_image",
    }


async def _png(request: Request, card: Card) -> Response:
    cards = _cards_of(request)

    async def render() -> bytes:
        if cards.renders.locked():
            raise Overloaded("cards are being drawn; try again shortly", retry_after_s=2)
        async with cards.renders:
            return await asyncio.to_thread(render_card, card)

    body = await cards.drawn.get_or_load(card, render)
    return Response(body, media_type="image/png", headers={"Cache-Control": _CARD_CACHE})


@router.get("/spaces/{space_id}/card.png")
async def space_card_png(request: Request, space_id: str, svc: Svc) -> Response:
    if not SPACE_ID.fullmatch(space_id):
        raise NotFound("there is no Space at this address")
    return await _png(request, space_card(await svc.spaces.get(space_id)))


@router.get("/clips/{clip_id}/card.png")
async def clip_card_png(request: Request, clip_id: str, svc: Svc) -> Response:
    clip, space = await svc.clips.get(clip_id)
    return await _png(request, clip_card(clip, space))


@router.get("/@{handle}/card.png")
async def profile_card_png(request: Request, handle: str, svc: Svc) -> Response:
    if not _HANDLE.fullmatch(handle):
        raise NotFound("there is no account at this address")
    return await _png(request, profile_card(await svc.accounts.get(handle)))


@dataclass(frozen=True, slots=True)
class _Embeddable:
    kind: str  # "spaces" or "clips"
    id: str
    title: str
    author: Account
    card_path: str


async def _embeddable(request: Request, svc: Svc, url: str) -> _Embeddable:
    """What ``url`` shows, if it is a Space or a clip of this site (else 404, as the oEmbed
    spec asks of a provider for a URL it does not serve)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise NotFound("that is not a link to a Space or a clip here") from None
    ours = {request.url.hostname, urlsplit(svc.ctx.settings.public_url).hostname} - {None}
    match = _OEMBED_PATH.match(parts.path)
    if parts.scheme not in ("http", "https") or parts.hostname not in ours or match is None:
        raise NotFound("that is not a link to a Space or a clip here")
    kind, key = match.groups()
    if kind == "spaces":
        space = await svc.spaces.get(key)
        return _Embeddable(kind, space.id, space.title, space.host, f"/spaces/{space.id}/card.png")
    clip, space = await svc.clips.get(key)
    return _Embeddable(kind, clip.id, space.title, space.host, f"/clips/{clip.id}/card.png")


@router.get("/oembed")
async def oembed(
    request: Request,
    svc: Svc,
    url: str = Query(min_length=1, max_length=2048),
    format: str = Query(default="json", max_length=8),  # the spec's name
    maxwidth: int | None = Query(default=None, ge=1, le=10_000),
    maxheight: int | None = Query(default=None, ge=1, le=10_000),
) -> Response:
    """oEmbed 1.0 (https://oembed.com): a ``rich`` answer whose ``html`` is an iframe of the
    embed player, sized within ``maxwidth``/``maxheight``; 501 for a format other than JSON,
    404 for a link that is not a Space or a clip of this site."""
    if format != "json":
        return problem(501, "Not implemented", "only format=json is served", "not-implemented")
    found = await _embeddable(request, svc, url)
    width = min(EMBED_WIDTH, maxwidth or EMBED_WIDTH)
    height = min(EMBED_HEIGHT, maxheight or EMBED_HEIGHT)
    settings = svc.ctx.settings
    player = absolute(request, settings.url(f"/embed/{found.kind}/{found.id}"))
    iframe = (
        f'<iframe src="{html.escape(player, quote=True)}" width="{width}" height="{height}" '
        f'title="{html.escape(found.title, quote=True)}" frameborder="0" '
        'allow="autoplay" loading="lazy" style="border:0;border-radius:16px;max-width:100%">'
        "</iframe>"
    )
    answer = {
        "version": "1.0",
        "type": "rich",
        "provider_name": "majlis",
        "provider_url": absolute(request, settings.url("/")),
        "title": found.title,
        "author_name": found.author.display_name,
        "author_url": absolute(request, settings.url(f"/@{found.author.handle}")),
        "html": iframe,
        "width": width,
        "height": height,
        "cache_age": 300,
    }
    if (maxwidth or WIDTH) >= WIDTH and (maxheight or HEIGHT) >= HEIGHT:
        # The card is one size; within a smaller limit the answer has no thumbnail (the spec:
        # a thumbnail must respect maxwidth and maxheight too).
        answer |= {
            "thumbnail_url": absolute(request, settings.url(found.card_path)),
            "thumbnail_width": WIDTH,
            "thumbnail_height": HEIGHT,
        }
    return JSON(answer, headers={"Cache-Control": "public, max-age=300"})


def oembed_link(request: Request, svc: Svc, page_path: str, title: str) -> str:
    """The ``<link>`` by which a CMS discovers the oEmbed answer for a page."""
    page = absolute(request, svc.ctx.settings.url(page_path))
    endpoint = absolute(request, svc.ctx.settings.url("/oembed"))
    href = f"{endpoint}?format=json&url={quote(page, safe='')}"
    return (
        '<link rel="alternate" type="application/json+oembed" '
        f'href="{html.escape(href, quote=True)}" title="{html.escape(title, quote=True)}">\n'
    )
