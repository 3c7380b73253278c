"""Mounting the web client on the app: its pages, its share cards and oEmbed, the clip and
embed pages, the API docs, and ``/static``."""

from __future__ import annotations

from fastapi import FastAPI

from majlis.web.api_docs import router as api_docs_router
from majlis.web.clip_page import router as clip_page_router
from majlis.web.embeds import router as embeds_router
from majlis.web.pages import STATIC_NAME, STATIC_PATH, Static
from majlis.web.pages import router as pages_router
from majlis.web.sharing import router as sharing_router


def web_installed(app: FastAPI) -> bool:
    return any(getattr(route, "name", None) == STATIC_NAME for route in app.router.routes)


def install_web(app: FastAPI) -> None:
    """Serve the pages and ``/static`` from ``app``. Idempotent: a second call does nothing."""
    if web_installed(app):
        return
    app.mount(
        STATIC_PATH,
        Static(packages=[("majlis.web", "static")], follow_symlink=False),
        name=STATIC_NAME,
    )
    for router in (pages_router, sharing_router, clip_page_router, embeds_router, api_docs_router):
        app.include_router(router)
