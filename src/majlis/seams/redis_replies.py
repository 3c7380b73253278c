"""Small helpers every Redis seam shares: replies as text, and TTLs in milliseconds."""

from __future__ import annotations

import math


def reply_text(value: bytes | str) -> str:
    """Replies are bytes unless the client decodes them; accept either kind of client."""
    return value.decode() if isinstance(value, bytes) else value


def ttl_ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))
