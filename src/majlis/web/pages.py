"""The browser pages: listen to a Space (LL-HLS) and speak in one (WHIP).

Plain HTML and vanilla JavaScript, no build step, no CDN: every script the pages load, hls.js
included, is served from ``/static`` so majlis works with no internet access. The pages hold no
state of their own; their scripts talk to the public API exactly as any other client does.

The Space id is the only value from the address that reaches the HTML; it must match the id
alphabet (else 404) and is escaped anyway. The title is escaped too and rendered with
``dir="auto"``, so an Arabic title reads right to left inside the left-to-right page.
"""

from __future__ import annotations

import html
import os
from importlib import resources
from string import Template
from typing import Final

from fastapi import APIRouter, FastAPI
from starlette.datastructures import MutableHeaders
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from majlis.api.deps import Svc
from majlis.domain.errors import NotFound
from majlis.domain.space_cache import SPACE_ID

STATIC_PATH: Final = "/static"
STATIC_NAME: Final = "majlis-static"

#: Scripts only from this origin and never inline; media and hls.js's worker come from blob:
#: URLs; API calls may go to ``public_url`` (an edge in front of the origin), hence ``connect-src``.
CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self' http: https:",
        "media-src 'self' blob: http: https:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

_SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

#: The listen page is the same for everyone: shared caches may keep it briefly. The speak page
#: signs people in, so it is never stored.
_LISTEN_CACHE: Final = "public, max-age=10"
_SPEAK_CACHE: Final = "no-store"

_STATE_LABELS: Final = {"scheduled": "Scheduled", "live": "Live", "ended": "Ended"}

router = APIRouter(include_in_schema=False)


def _template(name: str) -> Template:
    text = (resources.files("majlis.web") / "templates" / name).read_text(encoding="utf-8")
    return Template(text)


_LISTEN: Final = _template("listen.html")
_SPEAK: Final = _template("speak.html")


class _Static(StaticFiles):
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


async def _render(svc: Svc, space_id: str, page: Template, cache_control: str) -> HTMLResponse:
    if not SPACE_ID.fullmatch(space_id):
        raise NotFound(
            "there is no Space at this address (a Space id is 1-16 letters, digits, - or _)"
        )
    cached = await svc.ctx.space_cache.get(space_id)
    if cached is None:
        raise NotFound(f"there is no Space {space_id!r}")
    space = cached.space
    body = page.substitute(
        space_id=html.escape(space.id, quote=True),
        title=html.escape(space.title, quote=True),
        state=html.escape(space.state, quote=True),
        state_label=html.escape(_STATE_LABELS.get(space.state, space.state), quote=True),
        static=STATIC_PATH,
    )
    headers = {**_SECURITY_HEADERS, "Cache-Control": cache_control}
    return HTMLResponse(body, headers=headers)


@router.get("/spaces/{space_id}", response_class=HTMLResponse)
async def listen_page(space_id: str, svc: Svc) -> HTMLResponse:
    """Listen to a live Space in the browser."""
    return await _render(svc, space_id, _LISTEN, _LISTEN_CACHE)


@router.get("/spaces/{space_id}/speak", response_class=HTMLResponse)
async def speak_page(space_id: str, svc: Svc) -> HTMLResponse:
    """Sign in and speak in a Space from the browser (for stage members)."""
    return await _render(svc, space_id, _SPEAK, _SPEAK_CACHE)


def web_installed(app: FastAPI) -> bool:
    return any(getattr(route, "name", None) == STATIC_NAME for route in app.router.routes)


def install_web(app: FastAPI) -> None:
    """Serve the pages and ``/static`` from ``app``. Idempotent: a second call does nothing."""
    if web_installed(app):
        return
    app.mount(
        STATIC_PATH,
        _Static(packages=[("majlis.web", "static")], follow_symlink=False),
        name=STATIC_NAME,
    )
    app.include_router(router)
