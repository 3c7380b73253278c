"""Builds the ephemeral seams from configuration: in-process unless ``redis_url`` is set."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from majlis.live.bus import EventBus, MemoryEventBus
from majlis.live.counters import MemoryRecentCounters, RecentCounters
from majlis.live.presence import MemoryPresence, Presence
from majlis.live.ratelimit import MemoryRateLimiter, RateLimiter
from majlis.live.speaking import MemorySpeaking, Speaking

log = logging.getLogger(__name__)


@dataclass
class LiveSeams:
    presence: Presence
    counters: RecentCounters
    limiter: RateLimiter
    bus: EventBus
    #: Who is speaking per Space: written by the media node, read by every node's snapshot.
    speaking: Speaking
    #: Resources to release on shutdown (e.g. a Redis connection pool).
    closers: list[Any] = field(default_factory=list)

    async def aclose(self) -> None:
        for closer in self.closers:
            await closer()


def build_live_seams(
    redis_url: str, heartbeat_interval_s: float, redis_prefix: str = "majlis:"
) -> LiveSeams:
    if redis_url:
        from majlis.live.redis_backend import build_redis_seams

        log.info("live state on Redis (key prefix %r)", redis_prefix)
        return build_redis_seams(redis_url, heartbeat_interval_s, redis_prefix)
    log.debug("single-node mode: presence, counters, rate limits and events are in-process")
    return LiveSeams(
        presence=MemoryPresence(window_s=heartbeat_interval_s),
        counters=MemoryRecentCounters(),
        limiter=MemoryRateLimiter(),
        bus=MemoryEventBus(),
        speaking=MemorySpeaking(),
    )
