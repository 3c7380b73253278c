"""In-process recent counters: the single-node product."""

from __future__ import annotations

from collections import Counter

from majlis.seams.clock import Clock, wall_clock


class MemoryRecentCounters:
    def __init__(self, bucket_s: float = 2.0, buckets: int = 5, clock: Clock = wall_clock) -> None:
        self._bucket_s = bucket_s
        self._buckets = buckets
        self._clock = clock
        self._data: dict[str, dict[int, Counter[str]]] = {}

    def _bucket_now(self) -> int:
        return int(self._clock() // self._bucket_s)

    async def add(self, scope: str, key: str, amount: int = 1) -> None:
        now = self._bucket_now()
        per_bucket = self._data.setdefault(scope, {})
        per_bucket.setdefault(now, Counter())[key] += amount
        for old in [b for b in per_bucket if b <= now - self._buckets]:
            del per_bucket[old]

    async def recent(self, scope: str) -> dict[str, int]:
        per_bucket = self._data.get(scope)
        if not per_bucket:
            return {}
        oldest = self._bucket_now() - self._buckets + 1
        total: Counter[str] = Counter()
        for bucket, counts in per_bucket.items():
            if bucket >= oldest:
                total.update(counts)
        return dict(total)

    async def forget(self, scope: str) -> None:
        self._data.pop(scope, None)
