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

import orjson
from redis.asyncio import Redis

from majlis.live.clock import Clock, wall_clock

#: How long a published set stays valid without a refresh (the media node refreshes every ~1 s).
SPEAKING_TTL_S = 3.0


class Speaking(Protocol):
    async def publish(self, space_id: str, handles: Sequence[str]) -> None:
        """Replace the Space's speaking set; it expires unless published again within the TTL."""

    async def current(self, space_id: str) -> tuple[str, ...]:
        """The latest unexpired set, or ``()``."""

    async def forget(self, space_id: str) -> None:
        """Drop the Space's set at once (its room closed)."""


class MemorySpeaking:
    """Single node: the Room and the snapshot share this process."""

    def __init__(self, ttl_s: float = SPEAKING_TTL_S, clock: Clock = wall_clock) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._sets: dict[str, tuple[float, tuple[str, ...]]] = {}

    async def publish(self, space_id: str, handles: Sequence[str]) -> None:
        if handles:
            self._sets[space_id] = (self._clock() + self._ttl_s, tuple(handles))
        else:
            self._sets.pop(space_id, None)

    async def current(self, space_id: str) -> tuple[str, ...]:
        hit = self._sets.get(space_id)
        if hit is None:
            return ()
        if hit[0] <= self._clock():
            del self._sets[space_id]
            return ()
        return hit[1]

    async def forget(self, space_id: str) -> None:
        self._sets.pop(space_id, None)


class RedisSpeaking:
    """One small key per Space with a TTL: a SET per change or refresh, a GET per snapshot."""

    def __init__(
        self,
        redis: Redis,
        ttl_s: float = SPEAKING_TTL_S,
        clock: Clock = wall_clock,
        prefix: str = "majlis:",
    ) -> None:
        self._redis = redis
        self._ttl_s = ttl_s
        self._ttl_ms = max(1, round(ttl_s * 1000))
        self._clock = clock
        self._prefix = prefix

    def _key(self, space_id: str) -> str:
        return f"{self._prefix}speaking:{space_id}"

    async def publish(self, space_id: str, handles: Sequence[str]) -> None:
        if not handles:
            await self._redis.delete(self._key(space_id))
            return
        value = orjson.dumps({"until": self._clock() + self._ttl_s, "handles": list(handles)})
        await self._redis.set(self._key(space_id), value, px=self._ttl_ms)

    async def current(self, space_id: str) -> tuple[str, ...]:
        raw = await self._redis.get(self._key(space_id))
        if raw is None:
            return ()
        value = orjson.loads(raw)
        if float(value["until"]) <= self._clock():
            return ()
        return tuple(str(handle) for handle in value["handles"])

    async def forget(self, space_id: str) -> None:
        await self._redis.delete(self._key(space_id))
