"""Builds a node's seams from its settings, once: in-process unless ``redis_url`` is set.

One Redis client per node, made here and handed to every Redis seam (and, through
``Seams.redis``, to the media plane's part store): one connection pool to size and watch, one
place that closes it, after everything that uses it has stopped. The one exception is a media
node's heartbeat, which beats on a thread of its own with a client of its own
(``lease_seams``; cluster/heartbeat.py says why).

In single-node mode the registry and placement live in this process: the node registers itself
and every Space is placed on it, so the same code path runs on one machine and on many.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from majlis.config import Settings
from majlis.seams.bus.memory import MemoryEventBus
from majlis.seams.bus.redis import RedisEventBus
from majlis.seams.counters.memory import MemoryRecentCounters
from majlis.seams.counters.redis import RedisRecentCounters
from majlis.seams.live import LiveSeams
from majlis.seams.nodes.memory import MemoryNodeRegistry
from majlis.seams.nodes.protocol import NodeRegistry
from majlis.seams.nodes.redis import RedisNodeRegistry
from majlis.seams.placement.memory import MemoryPlacement
from majlis.seams.placement.policy import PlacementPolicy
from majlis.seams.placement.protocol import Placement
from majlis.seams.placement.redis import RedisPlacement
from majlis.seams.presence.memory import MemoryPresence
from majlis.seams.presence.redis import RedisPresence
from majlis.seams.ratelimit.memory import MemoryRateLimiter
from majlis.seams.ratelimit.redis import RedisRateLimiter
from majlis.seams.redis_client import redis_client
from majlis.seams.speaking.memory import MemorySpeaking
from majlis.seams.speaking.redis import RedisSpeaking

log = logging.getLogger(__name__)


@dataclass
class Seams:
    live: LiveSeams
    registry: NodeRegistry
    placement: Placement
    #: The node's one Redis client, or None on a single node.
    redis: Redis | None = None

    async def aclose(self) -> None:
        await self.live.aclose()
        if self.redis is not None:
            await self.redis.aclose()


def policy_of(settings: Settings) -> PlacementPolicy:
    return PlacementPolicy(
        max_heartbeat_age_s=settings.slow_node_heartbeat_age_s,
        max_loop_lag_ms=settings.slow_node_loop_lag_ms,
        retry_after_s=max(1, round(settings.node_heartbeat_s * 2)),
    )


def build_seams(settings: Settings) -> Seams:
    if not settings.redis_url:
        # debug: the CLI says the mode itself (majlis.serving), once, in words.
        log.debug("single-node mode: live state, nodes and placements are in this process")
        return Seams(
            memory_live_seams(settings.heartbeat_interval_s),
            *_memory_cluster(settings),
        )
    log.info("cluster mode: shared state on Redis (key prefix %r)", settings.redis_prefix)
    if settings.runs_media and not settings.node_url and settings.host in ("0.0.0.0", "::"):
        log.warning(
            "node %s listens on all addresses but MAJLIS_NODE_URL is not set: other nodes "
            "will be told to reach it at %s",
            settings.resolved_node_id(),
            settings.resolved_node_url(),
        )
    redis = redis_client(settings.redis_url)
    prefix = settings.redis_prefix
    registry = RedisNodeRegistry(redis, settings.node_lease_s, prefix)
    placement = RedisPlacement(
        redis, registry, settings.placement_lease_s, policy_of(settings), prefix
    )
    live = redis_live_seams(redis, settings.heartbeat_interval_s, prefix)
    return Seams(live, registry, placement, redis)


def lease_seams(
    settings: Settings,
) -> Callable[[], Awaitable[tuple[NodeRegistry, Placement, Callable[[], Awaitable[None]]]]] | None:
    """For a cluster node, how its heartbeat thread builds its own registry and placement (on
    its own event loop, with its own Redis client); None on a single node, whose heartbeat
    stays on the event loop (alone, there is no one to fail over to)."""
    if not settings.redis_url:
        return None
    url, prefix = settings.redis_url, settings.redis_prefix

    async def build() -> tuple[NodeRegistry, Placement, Callable[[], Awaitable[None]]]:
        redis = redis_client(url)
        registry = RedisNodeRegistry(redis, settings.node_lease_s, prefix)
        placement = RedisPlacement(
            redis, registry, settings.placement_lease_s, policy_of(settings), prefix
        )
        return registry, placement, redis.aclose

    return build


def memory_live_seams(heartbeat_interval_s: float) -> LiveSeams:
    return LiveSeams(
        presence=MemoryPresence(window_s=heartbeat_interval_s),
        counters=MemoryRecentCounters(),
        limiter=MemoryRateLimiter(),
        bus=MemoryEventBus(),
        speaking=MemorySpeaking(),
    )


def redis_live_seams(redis: Redis, heartbeat_interval_s: float, prefix: str) -> LiveSeams:
    """``prefix`` namespaces every key and channel, so deployments can share one Redis."""
    bus = RedisEventBus(redis, prefix=prefix)
    return LiveSeams(
        presence=RedisPresence(redis, window_s=heartbeat_interval_s, prefix=prefix),
        counters=RedisRecentCounters(redis, prefix=prefix),
        limiter=RedisRateLimiter(redis, prefix=prefix),
        bus=bus,
        speaking=RedisSpeaking(redis, prefix=prefix),
        closers=[bus.aclose],
    )


def _memory_cluster(settings: Settings) -> tuple[NodeRegistry, Placement]:
    # Alone, a lease only tells this node that it is alive, and a loop stall longer than the
    # (short) cluster lease would make it refuse its own Spaces: it never lapses.
    registry = MemoryNodeRegistry(math.inf)
    # Alone, a slow node is still the best node there is: refusing it would only turn a loaded
    # moment into a Space that cannot start.
    alone = dataclasses.replace(
        policy_of(settings), max_heartbeat_age_s=math.inf, max_loop_lag_ms=math.inf
    )
    return registry, MemoryPlacement(registry, settings.placement_lease_s, alone)
