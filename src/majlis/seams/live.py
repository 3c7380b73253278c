"""The ephemeral seams the domain works with, as one bundle (built by seams/build.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from majlis.seams.bus.protocol import EventBus
from majlis.seams.counters.protocol import RecentCounters
from majlis.seams.presence.protocol import Presence
from majlis.seams.ratelimit.protocol import RateLimiter
from majlis.seams.speaking.protocol import Speaking


@dataclass
class LiveSeams:
    presence: Presence
    counters: RecentCounters
    limiter: RateLimiter
    bus: EventBus
    #: Who is speaking per Space: written by the media node, read by every node's snapshot.
    speaking: Speaking
    #: What to stop on shutdown, before the Redis client closes (the bus' reader task).
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def aclose(self) -> None:
        for closer in self.closers:
            await closer()
