"""The Redis cluster seams leave nothing behind: a lapsed node's hash is expired by Redis
itself, and lapsed placements are deleted by the next renewal (not only ignored on read)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from majlis.seams.nodes.protocol import NodeLoad
from majlis.seams.nodes.redis import RedisNodeRegistry
from majlis.seams.placement.redis import RedisPlacement
from tests.support.services import redis_url
from tests.support.wait import eventually_async

pytestmark = pytest.mark.redis


async def _keys(redis: Redis, prefix: str) -> set[str]:
    return {key.decode() async for key in redis.scan_iter(match=prefix + "*")}


def test_lapsed_nodes_and_placements_are_deleted() -> None:
    url = redis_url()

    async def scenario() -> None:
        prefix = f"majlis-test:{uuid.uuid4().hex}:"
        redis = Redis.from_url(url)
        try:
            registry = RedisNodeRegistry(redis, lease_s=0.3, prefix=prefix)
            placement = RedisPlacement(redis, registry, lease_s=0.3, prefix=prefix)
            # First with a long lease, so that seeing the hash is not a race with its expiry
            # on a busy machine; the short lease then takes over.
            steady = RedisNodeRegistry(redis, lease_s=60, prefix=prefix)
            await steady.register("gone", "http://gone", NodeLoad())
            node_key = f"{prefix}{{cluster}}:node:gone"
            assert node_key in await _keys(redis, prefix)
            await registry.register("gone", "http://gone", NodeLoad())
            await placement.place("s")

            async def node_expired() -> bool:
                return not await redis.exists(node_key)

            async def placement_lapsed() -> bool:  # reads ignore a lapsed placement
                return await placement.placement_of("s") is None

            await eventually_async(node_expired, message="Redis kept a lapsed node's hash")
            # The placement's lease (0.3 s) has run out too: still in Redis, ignored on read.
            await eventually_async(placement_lapsed, message="the placement never lapsed")
            await registry.register("other", "http://other", NodeLoad())
            await placement.renew("other")
            assert await redis.hlen(f"{prefix}{{cluster}}:placements") == 0
            assert await redis.zcard(f"{prefix}{{cluster}}:placement-leases") == 0
            await registry.deregister("other")
            assert await _keys(redis, prefix) == set()  # the nodes zset emptied, so gone
        finally:
            stale = await _keys(redis, prefix)
            if stale:
                await redis.delete(*stale)
            await redis.aclose()

    asyncio.run(scenario())
