"""Per-second figures from Locust's cumulative statistics, without importing Locust.

Locust keeps, per request name, a cumulative count and a histogram of response times rounded
to two significant digits. The timeline wants *this second's* count and percentiles, so the
engine diffs snapshots; this module is that pure arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping


def percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """The ``q``-quantile (0..1) of a {milliseconds: count} histogram; None when empty."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    for ms in sorted(histogram):
        seen += histogram[ms]
        if seen >= rank:
            return float(ms)
    return float(max(histogram))


def delta(now: Mapping[int, int], before: Mapping[int, int]) -> dict[int, int]:
    """The histogram of what happened between two cumulative snapshots."""
    return {ms: n - before.get(ms, 0) for ms, n in now.items() if n - before.get(ms, 0) > 0}
