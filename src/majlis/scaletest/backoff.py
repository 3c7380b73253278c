"""How every scaletest client waits when the server says "later": Retry-After, jittered.

A thousand clients refused in the same second and told "retry after 2" must not all return in
the same second again; spreading them over [0.5, 1.5] x the hint turns a thundering herd into a
steady trickle the node can admit.
"""

from __future__ import annotations

import random

#: Statuses that mean "not now, come back": overloaded (503) and rate limited (429).
RETRYABLE = frozenset({429, 503})


def retry_delay(retry_after: str | None, default_s: float = 1.0, cap_s: float = 30.0) -> float:
    """Seconds to wait before trying again, from a Retry-After header (delta-seconds form)."""
    try:
        hint = float(retry_after) if retry_after is not None else default_s
    except ValueError:
        hint = default_s
    hint = min(max(hint, 0.1), cap_s)
    return hint * random.uniform(0.5, 1.5)
