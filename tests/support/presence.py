"""How a test reads a listener count that Redis estimated.

Distributed presence is a HyperLogLog (live/redis_backend.py): O(1) memory per Space whatever the
audience, at the price of being an estimate. For a small audience the estimate is exact unless two
listener ids land in one of its 16,384 registers, and then it is one short: measured here, 11 of
3,000 fresh sets of 12 ids counted 11 (0.37 %; about n²/32,768 for n listeners). A test that
waits for an exact count therefore fails one run in a few hundred for no fault of ours; this is
the tolerance such a test allows instead.
"""

from __future__ import annotations


def counted(count: int | None, listeners: int) -> bool:
    """True when ``count`` is what a HyperLogLog reports for ``listeners`` distinct listeners."""
    if count is None:
        return False
    return abs(count - listeners) <= max(1, round(listeners * 0.02))
