"""Opaque keyset-pagination cursors: base64url of ``[iso-timestamp, tie-breaker]``.

Why keyset and not offsets: pages stay stable while Spaces start and end under the reader, and a
page deep in the list costs the same as the first one.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

import orjson


class BadCursor(ValueError):
    """The cursor was not one this server handed out."""


def encode_cursor(at: datetime, tie: str) -> str:
    raw = orjson.dumps([at.isoformat(), tie])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    if len(cursor) > 200:
        raise BadCursor("cursor is too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = orjson.loads(raw)
        at_text, tie = value
        if not isinstance(at_text, str) or not isinstance(tie, str):
            raise TypeError
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None:
            raise TypeError
    except (binascii.Error, orjson.JSONDecodeError, TypeError, ValueError) as exc:
        raise BadCursor("cursor is not valid; use next_cursor from a previous page") from exc
    return at, tie
