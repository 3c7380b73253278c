"""Fast JSON responses and RFC 9457 problem documents."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

PROBLEM_TYPE = "urn:majlis:problem:"


class JSON(Response):
    """orjson-encoded JSON: roughly 3x faster than the stdlib encoder on our payloads."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def problem(
    status: int,
    title: str,
    detail: str,
    slug: str,
    retry_after_s: int | None = None,
    **extra: Any,
) -> Response:
    body = {
        "type": PROBLEM_TYPE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    # A failure describes one moment (a segment not live yet, a busy node): no cache in front
    # of the origin may answer a later request with it.
    headers = {"Cache-Control": "no-store"}
    if retry_after_s is not None:
        headers["Retry-After"] = str(retry_after_s)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="majlis"'
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )
