"""Rate limits as GCRA (generic cell rate algorithm): one timestamp per key, exact Retry-After.

Why GCRA: it stores a single number per key (the theoretical arrival time), allows a burst of
``limit`` then spaces requests evenly, and tells the caller precisely when to come back. The Redis
version is the same arithmetic in one Lua script, so every node shares the budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from majlis.live.clock import Clock, wall_clock


@dataclass(frozen=True)
class Decision:
    allowed: bool
    #: Whole seconds until a request would be allowed (0 when allowed).
    retry_after_s: int


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, period_s: float) -> Decision:
        """Spend one unit of ``key``'s budget of ``limit`` per ``period_s``; never blocks."""


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
