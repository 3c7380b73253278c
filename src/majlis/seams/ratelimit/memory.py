"""In-process GCRA: the single-node product, and the arithmetic the Redis script repeats step
for step."""

from __future__ import annotations

import math

from majlis.seams.clock import Clock, wall_clock
from majlis.seams.ratelimit.protocol import Decision


class MemoryRateLimiter:
    def __init__(self, clock: Clock = wall_clock, max_keys: int = 200_000) -> None:
        self._clock = clock
        self._tat: dict[str, float] = {}
        self._max_keys = max_keys

    async def hit(self, key: str, limit: int, period_s: float) -> Decision:
        now = self._clock()
        interval = period_s / limit
        tat = max(self._tat.get(key, now), now)
        allow_at = tat - period_s + interval
        if now < allow_at:
            return Decision(False, max(1, math.ceil(allow_at - now)))
        if len(self._tat) >= self._max_keys and key not in self._tat:
            self._evict(now)
        self._tat[key] = tat + interval
        return Decision(True, 0)

    def _evict(self, now: float) -> None:
        """Bound memory at any arrival rate: keys whose TAT has passed hold no information."""
        for stale in [k for k, tat in self._tat.items() if tat <= now]:
            del self._tat[stale]
        if len(self._tat) >= self._max_keys:
            self._tat.clear()
