"""``/docs``: the API's interactive reference (Swagger UI), served from this node only.

Why not FastAPI's own page: it loads Swagger UI from a CDN at a floating version (``@5``) and
starts it with an inline script, on the origin whose pages keep the sign-in token (issue 14,
finding 11). Here the library is vendored (web/static/vendor/swagger-ui, pinned, hashed), the
start-up is a static file, and the page's CSP allows scripts from this origin only. Swagger UI
sets inline styles, so ``style-src`` also allows them; that is all it allows beyond the pages'
policy, and it cannot run code.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from majlis.web.security_headers import CONTENT_SECURITY_POLICY, SECURITY_HEADERS

router = APIRouter(include_in_schema=False)

DOCS_CONTENT_SECURITY_POLICY: Final = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)

_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>majlis API</title>
<link rel="icon" href="/static/img/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/js/api-docs.js"></script>
</body>
</html>
"""


@router.get("/docs", response_class=HTMLResponse)
async def api_docs() -> HTMLResponse:
    """The API reference, interactive."""
    return HTMLResponse(
        _PAGE,
        headers={
            **SECURITY_HEADERS,
            "Content-Security-Policy": DOCS_CONTENT_SECURITY_POLICY,
            "Cache-Control": "no-cache",
        },
    )
