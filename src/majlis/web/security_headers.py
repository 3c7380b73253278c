"""The headers every page of the web client carries: its Content-Security-Policy first."""

from __future__ import annotations

from typing import Final

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

SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
