"""Who is speaking, on Redis: one key per Space that expires on its own."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from redis.asyncio import Redis

from majlis.seams.clock import Clock, wall_clock
from majlis.seams.speaking.protocol import SPEAKING_TTL_S


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
