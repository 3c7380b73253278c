"""Placement on Redis: a claim and a renewal are each one Lua script (the registry's module
explains the keys and why Redis' own clock)."""

from __future__ import annotations

from redis.asyncio import Redis

from majlis.seams.nodes.protocol import NodeRegistry
from majlis.seams.nodes.redis import LUA_NOW_MS, ClusterKeys, server_ms, to_ms
from majlis.seams.placement.memory import MemoryPlacement
from majlis.seams.placement.policy import COST_EPSILON, SPACE_COST, PlacementPolicy, random_pick
from majlis.seams.redis_replies import reply_text

# The current owner of a Space, or false if it has none or its lease lapsed.
_OWNER = f"""
{LUA_NOW_MS}
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
{LUA_NOW_MS}
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
        self._keys = ClusterKeys(prefix)
        self._claim_script = redis.register_script(_CLAIM)
        self._renew_script = redis.register_script(_RENEW)

    def _placement_keys(self) -> list[str]:
        return [self._keys.placements, self._keys.leases]

    async def renew(self, node_id: str) -> None:
        await self._renew_script(keys=self._placement_keys(), args=[node_id, to_ms(self.lease_s)])

    async def _lookup(self, space_id: str) -> str | None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.time()
            pipe.hget(self._keys.placements, space_id)
            pipe.zscore(self._keys.leases, space_id)
            now_reply, node, expiry = await pipe.execute()
        if node is None or expiry is None or expiry <= server_ms(now_reply):
            return None
        return reply_text(node)

    async def _claim(self, space_id: str, base: dict[str, float], dead_node: str = "") -> str:
        args: list[str | int] = [
            space_id,
            to_ms(self.lease_s),
            repr(random_pick()),
            repr(SPACE_COST),
            dead_node,
        ]
        for node, cost in sorted(base.items()):
            args += [node, repr(cost)]
        winner = await self._claim_script(keys=self._placement_keys(), args=args)
        return reply_text(winner)

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
        now = server_ms(now_reply)
        alive = {reply_text(space) for space, expiry in leases if expiry > now}
        return {
            reply_text(space): reply_text(node)
            for space, node in placements.items()
            if reply_text(space) in alive
        }
