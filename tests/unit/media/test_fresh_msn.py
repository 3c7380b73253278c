"""A fresh stream's first media sequence number is past every number an earlier stream of the
same Space used (program.fresh_msn; issue 14, finding 4)."""

from __future__ import annotations

import random

from majlis.media.program import MSN_EPOCH, fresh_msn

SEGMENT_S = 2.048


def test_a_restart_never_reuses_a_number_the_killed_stream_handed_out() -> None:
    rng = random.Random(14)
    for _ in range(10_000):
        opened = MSN_EPOCH + rng.uniform(0, 3e8)
        first = fresh_msn(SEGMENT_S, opened)
        # The killed stream numbered a segment at each segment_s (or later: a stalled clock).
        lived = rng.uniform(0, 600)
        numbered = [opened + j * SEGMENT_S for j in range(int(lived / SEGMENT_S) + 1)]
        last = first + len(numbered) - 1
        restarted = numbered[-1] + rng.uniform(0.52, 30)  # a restart takes over half a second
        assert fresh_msn(SEGMENT_S, restarted) > last


def test_numbers_stay_within_dash_s_unsigned_int_for_sixty_years() -> None:
    assert fresh_msn(1.92, MSN_EPOCH + 60 * 365.25 * 86400) < 2**32
