"""GCRA on Redis: the in-process formula in one Lua script, so every node shares the budget."""

from __future__ import annotations

import math

from redis.asyncio import Redis

from majlis.seams.clock import Clock, wall_clock
from majlis.seams.ratelimit.protocol import Decision
from majlis.seams.redis_replies import reply_text, ttl_ms

# Same steps, in the same order, as MemoryRateLimiter.hit so both round identically. Numbers cross
# the Lua boundary as %.17g strings: Lua's tostring keeps only 14 digits, and integer replies
# would truncate the fraction.
_GCRA = """
local now = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local interval = period / tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tat < now then tat = now end
local allow_at = tat - period + interval
if now < allow_at then
  return {0, string.format('%.17g', allow_at - now)}
end
redis.call('SET', KEYS[1], string.format('%.17g', tat + interval), 'PX', ARGV[4])
return {1, '0'}
"""


class RedisRateLimiter:
    """GCRA in one Lua script, so concurrent nodes cannot both spend the last unit."""

    def __init__(self, redis: Redis, clock: Clock = wall_clock, prefix: str = "majlis:") -> None:
        self._clock = clock
        self._prefix = prefix
        self._script = redis.register_script(_GCRA)

    async def hit(self, key: str, limit: int, period_s: float) -> Decision:
        # ``now`` comes from our clock, not Redis' TIME, so tests can drive time (and so the
        # formula matches the in-process one bit for bit).
        allowed, wait = await self._script(
            keys=[f"{self._prefix}rate:{key}"],
            args=[repr(float(self._clock())), repr(float(period_s)), limit, ttl_ms(period_s)],
        )
        if int(allowed):
            return Decision(True, 0)
        return Decision(False, max(1, math.ceil(float(reply_text(wait)))))
