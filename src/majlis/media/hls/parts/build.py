"""Builds a node's part store: in memory on a single node, on the node's one Redis client else."""

from __future__ import annotations

from redis.asyncio import Redis

from majlis.media.hls.parts.memory import MemoryPartStore
from majlis.media.hls.parts.protocol import PartStore
from majlis.media.hls.parts.redis import RedisPartStore
from majlis.seams.bus.protocol import EventBus


def build_part_store(redis: Redis | None, bus: EventBus, prefix: str) -> PartStore:
    """``redis`` is the node's client (seams.build): the store uses it and never closes it."""
    if redis is None:
        return MemoryPartStore()
    return RedisPartStore(redis, bus, prefix)
