"""Recent counters on Redis, for running more than one node: the in-process arithmetic, with
every key under a TTL."""

from __future__ import annotations

from collections import Counter

from redis.asyncio import Redis

from majlis.seams.clock import Clock, wall_clock
from majlis.seams.redis_replies import reply_text, ttl_ms


class RedisRecentCounters:
    """One hash per scope and bucket; a reaction is a single HINCRBY whatever the audience."""

    def __init__(
        self,
        redis: Redis,
        bucket_s: float = 2.0,
        buckets: int = 5,
        clock: Clock = wall_clock,
        prefix: str = "majlis:",
    ) -> None:
        self._redis = redis
        self._bucket_s = bucket_s
        self._buckets = buckets
        self._clock = clock
        self._prefix = prefix
        # One bucket of slack so a bucket outlives the last read that can still include it.
        self._ttl_ms = ttl_ms((buckets + 1) * bucket_s)

    def _key(self, scope: str, bucket: int) -> str:
        return f"{self._prefix}recent:{scope}:{bucket}"

    def _bucket_now(self) -> int:
        return int(self._clock() // self._bucket_s)

    async def add(self, scope: str, key: str, amount: int = 1) -> None:
        name = self._key(scope, self._bucket_now())
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(name, key, amount)
            pipe.pexpire(name, self._ttl_ms)
            await pipe.execute()

    async def recent(self, scope: str) -> dict[str, int]:
        now = self._bucket_now()
        async with self._redis.pipeline(transaction=False) as pipe:
            for bucket in range(now - self._buckets + 1, now + 1):
                pipe.hgetall(self._key(scope, bucket))
            hashes = await pipe.execute()
        total: Counter[str] = Counter()
        for fields in hashes:
            total.update({reply_text(k): int(v) for k, v in fields.items()})
        return dict(total)

    async def forget(self, scope: str) -> None:
        now = self._bucket_now()
        keys = [self._key(scope, b) for b in range(now - self._buckets, now + 1)]
        await self._redis.delete(*keys)
