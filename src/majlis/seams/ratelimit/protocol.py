"""Rate limits as GCRA (generic cell rate algorithm): one timestamp per key, exact Retry-After.

Why GCRA: it stores a single number per key (the theoretical arrival time), allows a burst of
``limit`` then spaces requests evenly, and tells the caller precisely when to come back. The Redis
version is the same arithmetic in one Lua script, so every node shares the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Decision:
    allowed: bool
    #: Whole seconds until a request would be allowed (0 when allowed).
    retry_after_s: int


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, period_s: float) -> Decision:
        """Spend one unit of ``key``'s budget of ``limit`` per ``period_s``; never blocks."""
