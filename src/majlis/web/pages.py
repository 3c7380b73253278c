"""The browser pages: home, sign in/up, profiles, notifications, and the Space pages.

Plain HTML and vanilla JavaScript, no build step, no CDN: every script the pages load, hls.js
included, is served from ``/static`` so majlis works with no internet access. The pages hold no
state of their own; their scripts talk to the public API exactly as any other client does.

Every page is ``templates/layout.html`` around a body template (``render_page``): the layout
loads the page's entry module (``<script type="module">``), which imports what it needs (i18n,
its strings, common, shell), with a ``modulepreload`` link for every module it reaches, so the
browser fetches them all at once instead of discovering them one import at a time; it leaves
``<header id="site-header">`` for shell.js. ``<html lang dir>`` is rendered from the
``majlis_lang`` cookie (written by the language switcher), else ``Accept-Language``, so an
Arabic reader gets a right-to-left page from the first byte; i18n.js then owns it.

Values from the address or the store reach the HTML only through ``fill``, which escapes them;
user text is rendered with ``dir="auto"`` or in ``<bdi>`` so an Arabic title or name reads right
to left inside an English page (and the reverse), and bidi controls cannot flip the page.
"""

from __future__ import annotations

import functools
import html
import os
import posixpath
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from string import Template
from typing import Final

from fastapi import APIRouter, Request
from starlette.datastructures import MutableHeaders
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from majlis.api.deps import Svc
from majlis.domain.audience import EMOJI
from majlis.domain.errors import NotFound
from majlis.domain.model import Space
from majlis.domain.space_cache import SPACE_ID
from majlis.web.security_headers import SECURITY_HEADERS
from majlis.web.sharing import absolute, image_tags, oembed_link

STATIC_PATH: Final = "/static"
STATIC_NAME: Final = "majlis-static"

_STATE_LABELS: Final = {"scheduled": "Scheduled", "live": "Live", "ended": "Ended"}

#: The Space page is the same for everyone who reads the same language (the script finds out who
#: is looking and the live state), so edges may keep it briefly: a full house arriving at once
#: then costs the origin one render per language, not one per listener.
_SPACE_CACHE: Final = "public, max-age=10"

#: The shell's pages differ only by language, which follows the cookie and Accept-Language:
#: caches must keep them apart (and revalidate, since the cookie changes at a click).
_PAGE_CACHE: Final = "no-cache"
_PAGE_VARY: Final = "Accept-Language, Cookie"

LANG_COOKIE: Final = "majlis_lang"
_DIRECTIONS: Final = {"en": "ltr", "ar": "rtl"}
_ACCEPT_AR: Final = re.compile(r"^\s*ar\b", re.IGNORECASE)

#: ``import … from "./x.js"`` and ``import "./x.js"``: the relative specifiers of a module.
_IMPORT: Final = re.compile(r"""^\s*import\b[^"';]*?["'](\.{1,2}/[^"']+)["']""", re.MULTILINE)

_HANDLE: Final = re.compile(r"[A-Za-z0-9_]{1,32}")

router = APIRouter(include_in_schema=False)


def _template(name: str) -> Template:
    text = (resources.files("majlis.web") / "templates" / name).read_text(encoding="utf-8")
    return Template(text)


_LAYOUT: Final = _template("layout.html")
_BODIES: dict[str, Template] = {}


def page_lang(request: Request) -> str:
    """``ar`` or ``en``: the switcher's cookie, else the first language the browser asks for."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in _DIRECTIONS:
        return chosen
    return "ar" if _ACCEPT_AR.match(request.headers.get("accept-language", "")) else "en"


def fill(template: str, **values: str) -> str:
    """The body template ``templates/<template>`` with every ``$value`` HTML-escaped."""
    body = _BODIES.get(template)
    if body is None:
        body = _BODIES[template] = _template(template)
    escaped = {name: html.escape(value, quote=True) for name, value in values.items()}
    return body.substitute(static=STATIC_PATH, **escaped)


@functools.cache
def module_graph(entry: str) -> tuple[str, ...]:
    """Every module ``js/<entry>`` imports, directly or not, as paths under ``js/``, in the order
    first met (the entry itself excluded): what the page preloads."""
    js = resources.files("majlis.web") / "static" / "js"
    seen: list[str] = []
    todo = [entry]
    while todo:
        current = todo.pop(0)
        source = js.joinpath(*current.split("/")).read_text(encoding="utf-8")
        for spec in _IMPORT.findall(source):
            found = posixpath.normpath(posixpath.join(posixpath.dirname(current), spec))
            if found != entry and found not in seen:
                seen.append(found)
                todo.append(found)
    return tuple(seen)


def render_page(
    request: Request,
    *,
    page: str,
    title: str,
    body: str,
    entry: str | None = None,
    vendor: Sequence[str] = (),
    main_class: str = "",
    body_data: Mapping[str, str] | None = None,
    cache_control: str = _PAGE_CACHE,
    status_code: int = 200,
    share: Mapping[str, str] | None = None,
    links: str = "",
    security_headers: Mapping[str, str] = SECURITY_HEADERS,
) -> HTMLResponse:
    """A whole page: the layout around ``body`` (already filled, see ``fill``).

    ``page`` is ``<body data-page>`` and, unless ``entry`` says otherwise, names the entry module
    ``js/<page>.js``; ``vendor`` scripts (e.g. ``vendor/hls.min.js``, classic scripts that set a
    global) are deferred, so they run before the modules, which are deferred too and keep
    document order. ``title`` is plain text (escaped here); ``body_data`` becomes escaped
    ``data-*`` attributes of ``<body>``; ``share`` becomes the OpenGraph and Twitter card
    tags a link preview reads (``og:title`` ...), escaped."""
    lang = page_lang(request)
    main = entry or f"{page}.js"
    tags = "\n".join(
        [
            *(f'<script src="{STATIC_PATH}/{src}" defer></script>' for src in vendor),
            *(
                f'<link rel="modulepreload" href="{STATIC_PATH}/js/{src}">'
                for src in module_graph(main)
            ),
            f'<script type="module" src="{STATIC_PATH}/js/{main}"></script>',
        ]
    )
    attrs = "".join(
        f' data-{name}="{html.escape(value, quote=True)}"'
        for name, value in (body_data or {}).items()
    )
    document = _LAYOUT.substitute(
        lang=lang,
        dir=_DIRECTIONS[lang],
        title=html.escape(f"{title} · majlis" if title else "majlis", quote=True),
        static=STATIC_PATH,
        scripts=tags,
        page=html.escape(page, quote=True),
        body_attrs=attrs,
        meta=_share_tags(share) + links,
        main_class=html.escape(main_class, quote=True),
        body=body,
    )
    headers = {**security_headers, "Cache-Control": cache_control, "Vary": _PAGE_VARY}
    return HTMLResponse(document, status_code=status_code, headers=headers)


def _share_tags(share: Mapping[str, str] | None) -> str:
    """What a chat app or a social site shows when the page's link is pasted: OpenGraph, and
    Twitter's card (``summary``, or ``summary_large_image`` where the page has a card image)."""
    if not share:
        return ""
    tags = {"og:site_name": "majlis", "twitter:card": "summary", **share}
    lines = []
    for key, value in tags.items():
        attribute = "name" if key.startswith("twitter:") else "property"
        lines.append(
            f'<meta {attribute}="{html.escape(key, quote=True)}" '
            f'content="{html.escape(value, quote=True)}">'
        )
    return "\n".join(lines) + "\n"


class Static(StaticFiles):
    """StaticFiles that always revalidates (ETag) and labels scripts as UTF-8 JavaScript."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        headers: MutableHeaders = response.headers
        headers["Cache-Control"] = "no-cache"
        headers["X-Content-Type-Options"] = "nosniff"
        if response.status_code != 304:
            suffix = os.path.splitext(os.fspath(full_path))[1].lower()
            if suffix in (".js", ".mjs"):
                headers["Content-Type"] = "text/javascript; charset=utf-8"
            elif suffix == ".css":
                headers["Content-Type"] = "text/css; charset=utf-8"
        return response


@router.get("/spaces/new", response_class=HTMLResponse)
async def new_space_page(request: Request) -> HTMLResponse:
    """Create a Space, now or scheduled (declared before ``/spaces/{id}``: "new" is a valid id)."""
    return render_page(
        request,
        page="space",
        title="Start a Space",
        body=fill("new_space.html"),
        entry="new_space.js",
        main_class="narrow",
    )


@router.get("/spaces/{space_id}", response_class=HTMLResponse)
async def space_page(request: Request, space_id: str, svc: Svc) -> HTMLResponse:
    """The Space for everyone: listen, speak, host; scheduled, doors open, live, ended (replay).

    The HTML is the same for every person (the script finds out who is looking), so only the
    id, title and state are rendered here; an unknown or malformed id is a 404 problem."""
    if not SPACE_ID.fullmatch(space_id):
        raise NotFound(
            "there is no Space at this address (a Space id is 1-16 letters, digits, - or _)"
        )
    cached = await svc.ctx.space_cache.get(space_id)
    if cached is None:
        raise NotFound(f"there is no Space {space_id!r}")
    space = cached.space
    return render_page(
        request,
        page="space",
        title=space.title,
        body=fill(
            "space.html",
            space_id=space.id,
            title=space.title,
            state=space.state,
            state_label=_STATE_LABELS.get(space.state, space.state),
            emoji=" ".join(EMOJI),
        ),
        vendor=["vendor/dash.mediaplayer.min.js", "vendor/hls.min.js"],
        cache_control=_SPACE_CACHE,
        share={
            "og:type": "website",
            "og:title": space.title,
            "og:description": _space_description(space),
            "og:url": absolute(request, svc.ctx.settings.url(f"/spaces/{space.id}")),
            **image_tags(request, svc, f"/spaces/{space.id}/card.png", space.title),
        },
        links=oembed_link(request, svc, f"/spaces/{space.id}", space.title),
    )


def _space_description(space: Space) -> str:
    """One line for a link preview: the state and the host (the reader's language is unknown
    to a crawler; the title carries the Space's own)."""
    host = f"{space.host.display_name} (@{space.host.handle})"
    if space.state == "live":
        return f"Live now on majlis, hosted by {host}. Tap to listen."
    if space.state == "scheduled" and space.scheduled_start is not None:
        when = space.scheduled_start.strftime("%d %b %Y, %H:%M UTC")
        return f"A live audio Space on majlis, hosted by {host}: {when}."
    return f"A live audio Space on majlis, hosted by {host}. The replay is here."


@router.get("/", response_class=HTMLResponse)
async def home_page(request: Request) -> HTMLResponse:
    """Live now (people I follow), upcoming, and every live Space."""
    return render_page(request, page="home", title="", body=fill("home.html"))


def _auth_page(request: Request, mode: str, title: str) -> HTMLResponse:
    """Sign in and sign up share auth.js and its strings; ``data-mode`` tells it which."""
    return render_page(
        request,
        page="auth",
        title=title,
        body=fill(f"{mode}.html"),
        main_class="auth",
        body_data={"mode": mode},
    )


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request) -> HTMLResponse:
    """Sign in with a handle and password."""
    return _auth_page(request, "signin", "Sign in")


@router.get("/signup", response_class=HTMLResponse)
async def signup_page(request: Request) -> HTMLResponse:
    """Create an account (then signed in at once)."""
    return _auth_page(request, "signup", "Create account")


@router.get("/notifications", response_class=HTMLResponse)
async def notifications_page(request: Request) -> HTMLResponse:
    """My inbox, live over Server-Sent Events."""
    return render_page(
        request,
        page="notifications",
        title="Notifications",
        body=fill("notifications.html"),
        main_class="narrow",
    )


@router.get("/@{handle}", response_class=HTMLResponse)
async def profile_page(request: Request, handle: str, svc: Svc) -> HTMLResponse:
    """A person: names, follower counts, follow/unfollow, their Spaces. Unknown → an HTML 404."""
    account = None
    if _HANDLE.fullmatch(handle):
        try:
            account = await svc.accounts.get(handle)
        except NotFound:
            account = None
    if account is None:
        return render_page(
            request,
            page="profile",
            title="Not found",
            body=fill("not_found.html"),
            main_class="narrow",
            status_code=404,
        )
    return render_page(
        request,
        page="profile",
        share={
            "og:type": "profile",
            "og:title": f"{account.display_name} (@{account.handle})",
            "og:description": f"Live audio Spaces by {account.display_name} on majlis.",
            "og:url": absolute(request, svc.ctx.settings.url(f"/@{account.handle}")),
            "profile:username": account.handle,
            **image_tags(request, svc, f"/@{account.handle}/card.png", account.display_name),
        },
        title=f"{account.display_name} (@{account.handle})",
        body=fill(
            "profile.html",
            handle=account.handle,
            display_name=account.display_name,
        ),
        main_class="narrow",
        body_data={"handle": account.handle.lower()},
    )


@router.get("/accounts/{handle}")
async def profile_alias(handle: str) -> Response:
    """The API's spelling of a profile address, for people who guess it."""
    if not _HANDLE.fullmatch(handle):
        raise NotFound("there is no account at this address")
    return RedirectResponse(f"/@{handle}", status_code=308)
