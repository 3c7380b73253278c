"""The event bus: fan-out of small JSON events to subscribers of named topics.

Why bounded queues that drop the slow subscriber: one stalled SSE client must never grow the
server's memory or delay everyone else. A dropped subscriber's stream ends and the client
reconnects (EventSource does so by itself), starting again from a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
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


class MemorySubscription:
    def __init__(self, bus: MemoryEventBus, topics: frozenset[str], maxsize: int) -> None:
        self._bus = bus
        self.topics = topics
        self.queue: asyncio.Queue[JSON] = asyncio.Queue(maxsize)
        self.closed = False

    def offer(self, event: JSON) -> None:
        if self.closed:
            return
        if event is END:
            self._end()
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self._end()

    def _end(self) -> None:
        """Detach, drop what is queued and wake the reader so its ``async for`` finishes."""
        self._bus.detach(self)
        self.closed = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(END)

    async def __aiter__(self) -> AsyncIterator[JSON]:
        while True:
            event = await self.queue.get()
            if event is END:
                return
            yield event

    async def close(self) -> None:
        if not self.closed:
            self._end()


class MemoryEventBus:
    def __init__(self, queue_size: int = 256) -> None:
        self._queue_size = queue_size
        self._subscribers: dict[str, set[MemorySubscription]] = {}

    async def publish(self, topic: str, event: JSON) -> None:
        for subscription in list(self._subscribers.get(topic, ())):
            subscription.offer(event)

    async def subscribe(self, topics: Iterable[str]) -> MemorySubscription:
        subscription = MemorySubscription(self, frozenset(topics), self._queue_size)
        for topic in subscription.topics:
            self._subscribers.setdefault(topic, set()).add(subscription)
        return subscription

    def detach(self, subscription: MemorySubscription) -> None:
        for topic in subscription.topics:
            subscribers = self._subscribers.get(topic)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    with contextlib.suppress(KeyError):
                        del self._subscribers[topic]

    def end_all(self) -> None:
        """End every subscription (their readers finish): the source of events was lost."""
        for subscription in {s for subs in self._subscribers.values() for s in subs}:
            subscription.offer(END)

    def subscriber_count(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))
