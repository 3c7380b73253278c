"""The live-seam contract's kit: one backend (memory or Redis) per scenario, on a fake clock.

Shared by every contract suite of a live seam (presence, counters, limiter, bus, speaking) and
by the cluster seams, which reuse its Redis probe; the ``run`` and ``redis_unreachable``
fixtures that drive it are in ``tests/contract/conftest.py``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from redis.asyncio import Redis

from majlis.seams.bus.memory import MemoryEventBus
from majlis.seams.bus.protocol import EventBus
from majlis.seams.bus.redis import RedisEventBus
from majlis.seams.counters.memory import MemoryRecentCounters
from majlis.seams.counters.protocol import RecentCounters
from majlis.seams.counters.redis import RedisRecentCounters
from majlis.seams.presence.memory import MemoryPresence
from majlis.seams.presence.protocol import Presence
from majlis.seams.presence.redis import RedisPresence
from majlis.seams.ratelimit.memory import MemoryRateLimiter
from majlis.seams.ratelimit.protocol import RateLimiter
from majlis.seams.ratelimit.redis import RedisRateLimiter
from majlis.seams.redis_client import redis_client

REDIS_URL = "redis://127.0.0.1:6379/0"
START = 1_000_000.0  # a multiple of every window and bucket the contracts use


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Kit:
    """Builds a seam of the backend under test, all sharing one fake clock."""

    backend: str
    redis: Redis | None
    prefix: str
    clock: FakeClock = field(default_factory=FakeClock)

    def presence(self, window_s: float = 10.0) -> Presence:
        if self.redis is None:
            return MemoryPresence(window_s, clock=self.clock)
        return RedisPresence(self.redis, window_s, clock=self.clock, prefix=self.prefix)

    def counters(self, bucket_s: float = 2.0, buckets: int = 5) -> RecentCounters:
        if self.redis is None:
            return MemoryRecentCounters(bucket_s, buckets, clock=self.clock)
        return RedisRecentCounters(self.redis, bucket_s, buckets, self.clock, prefix=self.prefix)

    def limiter(self) -> RateLimiter:
        if self.redis is None:
            return MemoryRateLimiter(clock=self.clock)
        return RedisRateLimiter(self.redis, clock=self.clock, prefix=self.prefix)

    def bus(self, queue_size: int = 256) -> EventBus:
        if self.redis is None:
            return MemoryEventBus(queue_size)
        return RedisEventBus(self.redis, prefix=self.prefix, queue_size=queue_size)


Scenario = Callable[[Kit], Awaitable[None]]
Run = Callable[[Scenario], None]


async def redis_unreachable_reason() -> str | None:
    """Why Redis cannot be reached at ``REDIS_URL``, or None when it can."""
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        await client.aclose()
    return None


def need_redis(reason: str | None) -> None:
    """Skip (or, under ``MAJLIS_REQUIRE_ALL=1``, fail) a test when Redis is unreachable."""
    if reason is None:
        return
    message = f"Redis not reachable at 127.0.0.1:6379: {reason}"
    if os.environ.get("MAJLIS_REQUIRE_ALL") == "1":
        pytest.fail(message)
    pytest.skip(message)


async def in_backend(backend: str, scenario: Scenario) -> None:
    """Await ``scenario`` with a kit of ``backend``, leaving no key behind in Redis."""
    if backend == "memory":
        await scenario(Kit(backend, None, ""))
        return
    prefix = f"majlis-test:{uuid.uuid4().hex}:"
    redis = redis_client(REDIS_URL)
    try:
        await scenario(Kit(backend, redis, prefix))
    finally:
        stale = [key async for key in redis.scan_iter(match=prefix + "*")]
        if stale:
            await redis.delete(*stale)
        await redis.aclose()
