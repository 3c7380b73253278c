"""Recent-activity counters (reactions): per Space and key, summed over a sliding set of buckets.

Why buckets: a million listeners tapping an emoji must cost a counter increment each, and the
snapshot must read "how many in the last N seconds" without scanning events. The Redis version is
one HINCRBY per reaction into a per-bucket hash with a TTL.
"""

from __future__ import annotations

from typing import Protocol


class RecentCounters(Protocol):
    async def add(self, scope: str, key: str, amount: int = 1) -> None:
        """Add ``amount`` to ``key`` in ``scope`` now."""

    async def recent(self, scope: str) -> dict[str, int]:
        """Totals per key over the last ``bucket_s * buckets`` seconds."""

    async def forget(self, scope: str) -> None:
        """Drop a scope at once (its Space ended) instead of waiting for it to age out."""
