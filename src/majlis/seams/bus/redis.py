"""The event bus across nodes: one Redis pub/sub connection per node over the local bus."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterable

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError

from majlis.seams.bus.memory import MemoryEventBus, MemorySubscription
from majlis.seams.redis_replies import reply_text
from majlis.types import JSON

log = logging.getLogger(__name__)


class RedisEventBus:
    """Cross-node events on ONE pub/sub connection per node, fanned out locally.

    Why one connection: a connection per subscriber (every SSE client, every media room) would
    exhaust the client pool at a few hundred streams. Like livekit's routing, the Redis version
    builds on the local one and overrides only the cross-node part: every local subscriber sits
    on an in-process ``MemoryEventBus``; this node subscribes in Redis to each topic that has at
    least one local subscriber (reference counted), and one reader task relays what arrives.
    If the connection breaks, every local stream ends, as on overflow: clients reconnect and
    start again from a snapshot rather than silently missing events.
    """

    _SENTINEL = "_node"

    def __init__(self, redis: Redis, prefix: str = "majlis:", queue_size: int = 256) -> None:
        self._redis = redis
        self._prefix = prefix
        self._local = MemoryEventBus(queue_size)
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._refs: Counter[str] = Counter()
        self._confirmed: dict[str, asyncio.Event] = {}
        self._lock = asyncio.Lock()

    async def publish(self, topic: str, event: JSON) -> None:
        await self._redis.publish(self._prefix + topic, orjson.dumps(event))

    async def subscribe(self, topics: Iterable[str]) -> RedisSubscription:
        wanted = frozenset(topics)
        local = await self._local.subscribe(wanted)
        async with self._lock:
            new = [t for t in wanted if self._refs[t] == 0]
            self._refs.update(wanted)
            try:
                await self._redis_subscribe(new)
            except BaseException:
                self._refs.subtract(wanted)
                for topic in wanted:  # the reader may have cleared them: never keep a count < 1
                    if self._refs[topic] <= 0:
                        del self._refs[topic]
                await local.close()
                raise
        return RedisSubscription(self, local, wanted)

    async def _redis_subscribe(self, topics: list[str]) -> None:
        """Return only once Redis confirmed every channel: later publishes cannot be missed."""
        if self._pubsub is None:
            self._pubsub = self._redis.pubsub()
            topics = [*topics, self._SENTINEL]  # keeps the connection subscribed when idle
        if not topics:
            return
        events = []
        for topic in topics:
            confirmed = self._confirmed.setdefault(self._prefix + topic, asyncio.Event())
            confirmed.clear()
            events.append(confirmed)
        await self._pubsub.subscribe(*(self._prefix + t for t in topics))
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(self._pubsub))
        # The wait coroutines are made only now: made before a subscribe that fails (Redis
        # down), they would never be awaited. ``asyncio.timeout``, not ``wait_for``: on Python
        # 3.11 a cancel landing just after the confirmations (before this task resumed) was
        # swallowed by ``wait_for``, and the cancelled subscriber (a closing room's watcher) went
        # on to wait for events forever, hanging whoever awaited it: the plane's lifecycle task.
        async with asyncio.timeout(10):
            await asyncio.gather(*(e.wait() for e in events))
        if self._pubsub is None:  # woken by _read: the connection dropped while we waited
            raise RedisConnectionError("the event bus lost its Redis connection")

    async def _release(self, topics: frozenset[str]) -> None:
        async with self._lock:
            self._refs.subtract(topics)
            idle = [t for t in topics if self._refs[t] <= 0]
            for topic in idle:
                del self._refs[topic]
                self._confirmed.pop(self._prefix + topic, None)
            if idle and self._pubsub is not None:
                with contextlib.suppress(Exception):
                    await self._pubsub.unsubscribe(*(self._prefix + t for t in idle))

    async def _read(self, pubsub: PubSub) -> None:
        skip = len(self._prefix)
        try:
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is None:
                    continue
                channel = reply_text(message["channel"])
                if message["type"] == "subscribe":
                    confirmed = self._confirmed.get(channel)
                    if confirmed is not None:
                        confirmed.set()
                elif message["type"] == "message":
                    await self._local.publish(channel[skip:], orjson.loads(message["data"]))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("event bus: the Redis subscription connection failed")
            self._local.end_all()
            self._pubsub = None
            self._refs.clear()
            # Wake subscribers waiting for a confirmation that cannot come now, at once rather
            # than after their timeout (they hold the lock every other subscriber waits for).
            for confirmed in self._confirmed.values():
                confirmed.set()
            self._confirmed.clear()
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._local.end_all()
        if self._pubsub is not None:
            await self._pubsub.aclose()


class RedisSubscription:
    """A local subscription that gives back its Redis channels when closed."""

    def __init__(self, bus: RedisEventBus, local: MemorySubscription, topics: frozenset[str]):
        self._bus = bus
        self._local = local
        self._topics = topics
        self._released = False

    def __aiter__(self) -> AsyncIterator[JSON]:
        return aiter(self._local)

    async def close(self) -> None:
        await self._local.close()
        if not self._released:
            self._released = True
            await self._bus._release(self._topics)
