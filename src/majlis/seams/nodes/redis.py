"""The cluster seams on Redis, for many API and media nodes.

Why Redis' own clock: leases and heartbeat ages are compared with the server's ``TIME``, never
a node's clock, so a node whose clock drifts can neither keep a dead lease alive nor look slow.
Every write that must be atomic across nodes is one Lua script: a claim (place, or move off a
dead node; it counts every live placement and picks the cheapest node in the same step) and a
renewal of a node's placements. Reads are plain pipelines. A claim scans all live placements:
fine for thousands of live Spaces; beyond that, keep a count per node.

Keys (all under one ``{cluster}`` hash tag, so the scripts stay valid on Redis Cluster):
``nodes`` (zset: node id → lease expiry, ms), ``node:<id>`` (hash: url and load; expires with
the lease), ``placements`` (hash: Space → node) and ``placement-leases`` (zset: Space → lease
expiry, ms). A lapsed placement is ignored by every read and deleted by the next renewal.
"""

from __future__ import annotations

import math

from redis.asyncio import Redis

from majlis.seams.nodes.protocol import NodeInfo, NodeLoad
from majlis.seams.redis_replies import reply_text

LUA_NOW_MS = (
    "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(t[2] / 1000)"
)


_REGISTER = f"""
{LUA_NOW_MS}
redis.call('HSET', KEYS[2], 'url', ARGV[3], 'spaces', ARGV[4], 'speakers', ARGV[5],
           'cpu', ARGV[6], 'lag', ARGV[7], 'seen', now)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return now
"""


def to_ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def server_ms(reply: tuple[int, int] | list[int]) -> int:
    """Redis' TIME reply (seconds, microseconds) in milliseconds, as the scripts compute it."""
    return int(reply[0]) * 1000 + int(reply[1]) // 1000


class ClusterKeys:
    def __init__(self, prefix: str) -> None:
        base = f"{prefix}{{cluster}}:"
        self.nodes = base + "nodes"
        self.node = base + "node:"
        self.placements = base + "placements"
        self.leases = base + "placement-leases"


class RedisNodeRegistry:
    def __init__(self, redis: Redis, lease_s: float, prefix: str = "majlis:") -> None:
        self.lease_s = lease_s
        self._redis = redis
        self._keys = ClusterKeys(prefix)
        self._register = redis.register_script(_REGISTER)

    async def register(self, node_id: str, url: str, load: NodeLoad) -> None:
        await self._register(
            keys=[self._keys.nodes, self._keys.node + node_id],
            args=[
                node_id,
                to_ms(self.lease_s),
                url,
                load.spaces,
                load.speakers,
                repr(float(load.cpu)),
                repr(float(load.loop_lag_ms)),
            ],
        )

    async def deregister(self, node_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self._keys.nodes, node_id)
            pipe.delete(self._keys.node + node_id)
            await pipe.execute()

    async def live_nodes(self) -> list[NodeInfo]:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.time()
            pipe.zrange(self._keys.nodes, 0, -1, withscores=True)
            now_reply, leases = await pipe.execute()
        now = server_ms(now_reply)
        ids = sorted(reply_text(member) for member, expiry in leases if expiry > now)
        async with self._redis.pipeline(transaction=False) as pipe:
            for node_id in ids:
                pipe.hgetall(self._keys.node + node_id)
            fields = await pipe.execute()
        nodes = []
        for node_id, raw in zip(ids, fields, strict=True):
            if not raw:
                continue  # the lease ran out between the two reads
            value = {reply_text(k): reply_text(v) for k, v in raw.items()}
            load = NodeLoad(
                spaces=int(value["spaces"]),
                speakers=int(value["speakers"]),
                cpu=float(value["cpu"]),
                loop_lag_ms=float(value["lag"]),
            )
            age_s = max(0, now - int(value["seen"])) / 1000
            nodes.append(NodeInfo(node_id, value["url"], load, age_s))
        return nodes

    async def node(self, node_id: str) -> NodeInfo | None:
        return next((n for n in await self.live_nodes() if n.node_id == node_id), None)
