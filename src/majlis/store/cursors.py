"""Opaque keyset-pagination cursors: base64url of ``[iso-timestamp, tie-breaker]``.

Why keyset and not offsets: pages stay stable while Spaces start and end under the reader, and a
page deep in the list costs the same as the first one.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime

import orjson


class BadCursor(ValueError):
    """The cursor was not one this server handed out."""


def encode_cursor(at: datetime, tie: str) -> str:
    raw = orjson.dumps([at.isoformat(), tie])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


#: Tie-breakers we hand out are Space ids and notice ids: short URL-safe ASCII.
_TIE = re.compile(r"[A-Za-z0-9_-]{1,40}")
#: Times we hand out are real ones; anything outside is forged, and could overflow in the
#: database driver when converted to UTC.
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Only cursors this server could have made pass: a forged one is ``BadCursor`` (400)."""
    if len(cursor) > 200:
        raise BadCursor("cursor is too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = orjson.loads(raw)
        at_text, tie = value
        if not isinstance(at_text, str) or not isinstance(tie, str) or not _TIE.fullmatch(tie):
            raise TypeError
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None or not _EARLIEST <= at <= _LATEST:
            raise TypeError
    except (binascii.Error, orjson.JSONDecodeError, TypeError, ValueError, OverflowError) as exc:
        raise BadCursor("cursor is not valid; use next_cursor from a previous page") from exc
    return at.astimezone(UTC), tie
