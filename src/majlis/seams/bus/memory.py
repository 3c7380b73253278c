"""The in-process event bus: the single-node product, and the local fan-out the Redis bus
builds on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable

from majlis.seams.bus.protocol import END
from majlis.types import JSON


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
