"""The ephemeral seams a node works with, as one bundle (built by live/factory.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from majlis.live.bus import EventBus
from majlis.live.counters import RecentCounters
from majlis.live.presence import Presence
from majlis.live.ratelimit import RateLimiter
from majlis.live.speaking import Speaking


@dataclass
class LiveSeams:
    presence: Presence
    counters: RecentCounters
    limiter: RateLimiter
    bus: EventBus
    #: Who is speaking per Space: written by the media node, read by every node's snapshot.
    speaking: Speaking
    #: Resources to release on shutdown (e.g. a Redis connection pool).
    closers: list[Any] = field(default_factory=list)

    async def aclose(self) -> None:
        for closer in self.closers:
            await closer()
