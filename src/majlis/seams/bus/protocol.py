"""The event bus: fan-out of small JSON events to subscribers of named topics.

Why bounded queues that drop the slow subscriber: one stalled SSE client must never grow the
server's memory or delay everyone else. A dropped subscriber's stream ends and the client
reconnects (EventSource does so by itself), starting again from a fresh snapshot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Protocol

from majlis.types import JSON

#: Marker that ends a subscriber's iteration: it fell too far behind, or it was closed.
END: JSON = {"type": "end"}


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[JSON]: ...

    async def close(self) -> None: ...


class EventBus(Protocol):
    async def publish(self, topic: str, event: JSON) -> None:
        """Deliver ``event`` to every current subscriber of ``topic``; never blocks on them."""

    async def subscribe(self, topics: Iterable[str]) -> Subscription:
        """Start receiving events of ``topics`` (events published before this call are not seen)."""
