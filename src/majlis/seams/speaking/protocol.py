"""Who is speaking in each live Space, readable from every node.

Why a seam: speaking is detected by the Room on the media node that owns the Space, but the
snapshot (``GET /spaces/{id}/live``) may be answered by any API node. The media node writes the
set when it changes and rewrites it about every second; each write lives ``ttl_s`` (~3 s), so
the set of a node that died fades on its own instead of showing someone talking forever.

Expiry is judged against the injected clock (the value carries its deadline), as the other seams
do, so one contract suite drives both implementations with a fake clock; the Redis key's own
TTL only cleans up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

#: How long a published set stays valid without a refresh (the media node refreshes every ~1 s).
SPEAKING_TTL_S = 3.0


class Speaking(Protocol):
    async def publish(self, space_id: str, handles: Sequence[str]) -> None:
        """Replace the Space's speaking set; it expires unless published again within the TTL."""

    async def current(self, space_id: str) -> tuple[str, ...]:
        """The latest unexpired set, or ``()``."""

    async def forget(self, space_id: str) -> None:
        """Drop the Space's set at once (its room closed)."""
