"""Builds the ephemeral seams from configuration: in-process unless ``redis_url`` is set."""

from __future__ import annotations

import logging

from majlis.live.bus import MemoryEventBus
from majlis.live.counters import MemoryRecentCounters
from majlis.live.presence import MemoryPresence
from majlis.live.ratelimit import MemoryRateLimiter
from majlis.live.seams import LiveSeams
from majlis.live.speaking import MemorySpeaking

log = logging.getLogger(__name__)


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
