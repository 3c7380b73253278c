"""Presence on Redis, for running more than one node.

Why each class mirrors its in-process twin's arithmetic exactly (same windows, buckets and GCRA
formula, time taken from the injected clock rather than Redis' TIME): one contract test suite
drives both with a fake clock, and nodes whose clocks agree agree on windows without talking.
Every key carries a TTL, so a crashed node or an ended Space never leaves state behind.
"""

from __future__ import annotations

from collections.abc import Iterable

from redis.asyncio import Redis

from majlis.seams.clock import Clock, wall_clock
from majlis.seams.redis_replies import ttl_ms


class RedisPresence:
    """Two HyperLogLogs per Space (current and previous window), about 12 KB each at most.

    Why HyperLogLog: distinct listeners are counted in constant memory whatever the audience, at
    the price of ~0.8% error on large counts (small counts are exact in the sparse encoding).
    """

    def __init__(
        self, redis: Redis, window_s: float, clock: Clock = wall_clock, prefix: str = "majlis:"
    ) -> None:
        self._redis = redis
        self._window_s = window_s
        self._clock = clock
        self._prefix = prefix
        self._ttl_ms = ttl_ms(3 * window_s)

    def _keys(self, space_id: str) -> tuple[str, str]:
        # The {hash tag} keeps both windows in one cluster slot, as a multi-key PFCOUNT requires.
        now = int(self._clock() // self._window_s)
        base = f"{self._prefix}presence:{{{space_id}}}:"
        return f"{base}{now}", f"{base}{now - 1}"

    async def touch(self, space_id: str, listener_id: str) -> None:
        current, _ = self._keys(space_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.pfadd(current, listener_id)
            pipe.pexpire(current, self._ttl_ms)
            await pipe.execute()

    async def count(self, space_id: str) -> int:
        return int(await self._redis.pfcount(*self._keys(space_id)))

    async def counts(self, space_ids: Iterable[str]) -> dict[str, int]:
        ids = list(space_ids)
        async with self._redis.pipeline(transaction=False) as pipe:
            for space_id in ids:
                pipe.pfcount(*self._keys(space_id))
            results = await pipe.execute()
        return {space_id: int(n) for space_id, n in zip(ids, results, strict=True)}

    async def forget(self, space_id: str) -> None:
        await self._redis.delete(*self._keys(space_id))
