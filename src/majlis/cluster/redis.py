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

from majlis.cluster.memory import MemoryPlacement
from majlis.cluster.placement import COST_EPSILON, SPACE_COST, PlacementPolicy, random_pick
from majlis.cluster.protocol import NodeInfo, NodeLoad, NodeRegistry
from majlis.live.redis_backend import _text

_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(t[2] / 1000)"

_REGISTER = f"""
{_NOW}
redis.call('HSET', KEYS[2], 'url', ARGV[3], 'spaces', ARGV[4], 'speakers', ARGV[5],
           'cpu', ARGV[6], 'lag', ARGV[7], 'seen', now)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return now
"""

# The current owner of a Space, or false if it has none or its lease lapsed.
_OWNER = f"""
{_NOW}
local function owner(space)
  local node = redis.call('HGET', KEYS[1], space)
  local expiry = redis.call('ZSCORE', KEYS[2], space)
  if node and expiry and tonumber(expiry) > now then return node end
  return false
end
"""

# placement.cheapest, counting the live placements now, inside the same atomic step.
# ARGV: space, lease ms, pick in [0, 1), SPACE_COST, dead node or "", then node, base cost, ...
_CLAIM = f"""
{_OWNER}
local current = owner(ARGV[1])
if current and current ~= ARGV[5] then return current end
local alive = {{}}
for _, space in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. now, '+inf')) do
  alive[space] = true
end
local placed = {{}}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if alive[all[i]] then placed[all[i + 1]] = (placed[all[i + 1]] or 0) + 1 end
end
local costs, lowest = {{}}, nil
for i = 6, #ARGV, 2 do
  local cost = tonumber(ARGV[i + 1]) + (placed[ARGV[i]] or 0) * tonumber(ARGV[4])
  costs[ARGV[i]] = cost
  if lowest == nil or cost < lowest then lowest = cost end
end
local ties = {{}}
for node, cost in pairs(costs) do
  if cost - lowest < {COST_EPSILON!r} then table.insert(ties, node) end
end
table.sort(ties)
local node = ties[math.floor(tonumber(ARGV[3]) * #ties) + 1]
redis.call('HSET', KEYS[1], ARGV[1], node)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
return node
"""

# ARGV: node, lease ms. Also deletes lapsed placements, so nothing outlives its lease for long.
_RENEW = f"""
{_NOW}
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, space in ipairs(lapsed) do
  redis.call('HDEL', KEYS[1], space)
  redis.call('ZREM', KEYS[2], space)
end
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if all[i + 1] == ARGV[1] then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), all[i])
  end
end
return #lapsed
"""


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def _server_ms(reply: tuple[int, int] | list[int]) -> int:
    """Redis' TIME reply (seconds, microseconds) in milliseconds, as the scripts compute it."""
    return int(reply[0]) * 1000 + int(reply[1]) // 1000


class _Keys:
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
        self._keys = _Keys(prefix)
        self._register = redis.register_script(_REGISTER)

    async def register(self, node_id: str, url: str, load: NodeLoad) -> None:
        await self._register(
            keys=[self._keys.nodes, self._keys.node + node_id],
            args=[
                node_id,
                _ms(self.lease_s),
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
        now = _server_ms(now_reply)
        ids = sorted(_text(member) for member, expiry in leases if expiry > now)
        async with self._redis.pipeline(transaction=False) as pipe:
            for node_id in ids:
                pipe.hgetall(self._keys.node + node_id)
            fields = await pipe.execute()
        nodes = []
        for node_id, raw in zip(ids, fields, strict=True):
            if not raw:
                continue  # the lease ran out between the two reads
            value = {_text(k): _text(v) for k, v in raw.items()}
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


class RedisPlacement(MemoryPlacement):
    """The shared placement algorithm over Redis state: only the primitives are overridden."""

    def __init__(
        self,
        redis: Redis,
        registry: NodeRegistry,
        lease_s: float,
        policy: PlacementPolicy | None = None,
        prefix: str = "majlis:",
    ) -> None:
        super().__init__(registry, lease_s, policy)
        self._redis = redis
        self._keys = _Keys(prefix)
        self._claim_script = redis.register_script(_CLAIM)
        self._renew_script = redis.register_script(_RENEW)

    def _placement_keys(self) -> list[str]:
        return [self._keys.placements, self._keys.leases]

    async def renew(self, node_id: str) -> None:
        await self._renew_script(keys=self._placement_keys(), args=[node_id, _ms(self.lease_s)])

    async def _lookup(self, space_id: str) -> str | None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.time()
            pipe.hget(self._keys.placements, space_id)
            pipe.zscore(self._keys.leases, space_id)
            now_reply, node, expiry = await pipe.execute()
        if node is None or expiry is None or expiry <= _server_ms(now_reply):
            return None
        return _text(node)

    async def _claim(self, space_id: str, base: dict[str, float], dead_node: str = "") -> str:
        args: list[str | int] = [
            space_id,
            _ms(self.lease_s),
            repr(random_pick()),
            repr(SPACE_COST),
            dead_node,
        ]
        for node, cost in sorted(base.items()):
            args += [node, repr(cost)]
        winner = await self._claim_script(keys=self._placement_keys(), args=args)
        return _text(winner)

    async def _drop(self, space_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._keys.placements, space_id)
            pipe.zrem(self._keys.leases, space_id)
            await pipe.execute()

    async def _all(self) -> dict[str, str]:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.time()
            pipe.hgetall(self._keys.placements)
            pipe.zrange(self._keys.leases, 0, -1, withscores=True)
            now_reply, placements, leases = await pipe.execute()
        now = _server_ms(now_reply)
        alive = {_text(space) for space, expiry in leases if expiry > now}
        return {
            _text(space): _text(node) for space, node in placements.items() if _text(space) in alive
        }
