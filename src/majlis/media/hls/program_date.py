"""Wall-clock dates for segments (``EXT-X-PROGRAM-DATE-TIME``), so latency can be measured.

A listener's latency is ``now - (PROGRAM-DATE-TIME + position in segment)``, so a segment's
date must be the wall-clock time its first sample was produced. The packager does not carry
capture times (a part is just bytes and a duration), so we estimate them from publication:
a part whose last sample was just produced started ``duration + pipeline delay`` ago.

The first segment is the exception when the producer knows when its first sample was made
(``origin``): the program does, and its renditions (AAC and Opus, each encoded on its own
thread) then start from that one date instead of two estimates. Estimated, a busy machine made a
cold encoder's first part late by up to ~180 ms, and the renditions' dates disagreed by that
much for the rest of the show (resync only corrects drift beyond ``resync_s``).

Publication times jitter with thread scheduling, and a date that jitters makes hls.js's latency
readings jitter too. So dates follow the media clock: each segment starts where the previous
one ended. We re-anchor only when the media clock and the wall clock have really come apart —
the mixer stalled, or the encoder thread dropped audio — which shows as *every* part of a segment
arriving late (or early) by more than ``resync_s``. Taking the minimum offset over a segment
filters out the parts that were merely delivered late.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class ProgramDateClock:
    """Assigns each new segment the wall-clock time of its first sample."""

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        pipeline_delay_s: float = 0.0,
        resync_s: float = 0.5,
        origin: Callable[[], float | None] | None = None,
    ) -> None:
        """``origin``: the date of the first sample of the first part, if known by then."""
        self._clock = clock
        self._origin = origin
        self._delay = pipeline_delay_s
        self._resync = resync_s
        self._start: float | None = None  # date of the current segment
        self._elapsed = 0.0  # media seconds since it started
        self._min_offset = math.inf  # least (estimated - media-clock) start of its parts

    def part(self, duration: float, starts_segment: bool) -> float:
        """Record a published part; returns the date of the segment it belongs to."""
        estimate = self._clock() - duration - self._delay
        if starts_segment or self._start is None:
            self._start = self._next_start(estimate)
            self._elapsed = 0.0
            self._min_offset = math.inf
        self._min_offset = min(self._min_offset, estimate - (self._start + self._elapsed))
        self._elapsed += duration
        return self._start

    def _next_start(self, estimate: float) -> float:
        if self._start is None:
            known = self._origin() if self._origin is not None else None
            return estimate if known is None else known
        expected = self._start + self._elapsed
        drift = self._min_offset
        if abs(drift) <= self._resync:
            return expected
        # RFC 8216bis §6.2.1: "the Server MAY introduce small (sub-second) overlaps to account
        # for drift between the encoder clock and some independently produced date/time
        # reference"; "The later segment MUST only partially overlap the preceding segment."
        return max(expected + drift, self._start + 0.001)
