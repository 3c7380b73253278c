"""Builds the cluster seams from configuration: in-process unless ``redis_url`` is set.

In single-node mode the registry and placement live in this process: the node registers
itself and every Space is placed on it, so the same code path runs on one machine and on many.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from majlis.cluster.memory import MemoryNodeRegistry, MemoryPlacement
from majlis.cluster.placement import PlacementPolicy
from majlis.cluster.protocol import NodeRegistry, Placement
from majlis.config import Settings

log = logging.getLogger(__name__)


@dataclass
class Cluster:
    registry: NodeRegistry
    placement: Placement
    #: Resources to release on shutdown (e.g. a Redis connection pool).
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def aclose(self) -> None:
        for closer in self.closers:
            await closer()


def policy_of(settings: Settings) -> PlacementPolicy:
    return PlacementPolicy(
        max_heartbeat_age_s=settings.slow_node_heartbeat_age_s,
        max_loop_lag_ms=settings.slow_node_loop_lag_ms,
        retry_after_s=max(1, round(settings.node_heartbeat_s * 2)),
    )


def build_cluster(settings: Settings) -> Cluster:
    policy = policy_of(settings)
    if settings.redis_url:
        from redis.asyncio import Redis

        from majlis.cluster.redis import RedisNodeRegistry, RedisPlacement

        log.info("media nodes and placements on Redis (key prefix %r)", settings.redis_prefix)
        if settings.runs_media and not settings.node_url and settings.host in ("0.0.0.0", "::"):
            log.warning(
                "node %s listens on all addresses but MAJLIS_NODE_URL is not set: other nodes "
                "will be told to reach it at %s",
                settings.resolved_node_id(),
                settings.resolved_node_url(),
            )
        redis = Redis.from_url(settings.redis_url)
        registry = RedisNodeRegistry(redis, settings.node_lease_s, settings.redis_prefix)
        placement = RedisPlacement(
            redis, registry, settings.placement_lease_s, policy, settings.redis_prefix
        )
        return Cluster(registry, placement, [redis.aclose])
    log.debug("single-node mode: this node is the only media node; placements are in-process")
    memory_registry = MemoryNodeRegistry(settings.node_lease_s)
    # Alone, a slow node is still the best node there is: refusing it would only turn a loaded
    # moment into a Space that cannot start.
    alone = dataclasses.replace(policy, max_heartbeat_age_s=math.inf, max_loop_lag_ms=math.inf)
    return Cluster(
        memory_registry,
        MemoryPlacement(memory_registry, settings.placement_lease_s, alone),
    )
