"""Redis implementations of the live seams, for running more than one node.

Why each class mirrors its in-process twin's arithmetic exactly (same windows, buckets and GCRA
formula, time taken from the injected clock rather than Redis' TIME): one contract test suite
drives both with a fake clock, and nodes whose clocks agree agree on windows without talking.
Every key carries a TTL, so a crashed node or an ended Space never leaves state behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import Counter
from collections.abc import AsyncIterator, Iterable

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError

from majlis.live.bus import MemoryEventBus, MemorySubscription
from majlis.live.clock import Clock, wall_clock
from majlis.live.ratelimit import Decision
from majlis.live.seams import LiveSeams
from majlis.live.speaking import RedisSpeaking
from majlis.types import JSON

log = logging.getLogger(__name__)


def _text(value: bytes | str) -> str:
    """Replies are bytes unless the client decodes them; accept either kind of client."""
    return value.decode() if isinstance(value, bytes) else value


def _ttl_ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


class RedisPresence:
    """Two HyperLogLogs per Space (current and previous window), about 12 KB each at most.

    Why HyperLogLog: distinct listeners are counted in constant memory whatever the audience, at
    the price of ~0.8% error on large counts (small counts are exact in the sparse encoding).
    """

    def __init__(
        self, redis: Redis, window_s: float, clock: Clock = wall_clock, prefix: str = "majlis:"
    ) -> None:
        self._redis = redis
        self._window_s = window_s
        self._clock = clock
        self._prefix = prefix
        self._ttl_ms = _ttl_ms(3 * window_s)

    def _keys(self, space_id: str) -> tuple[str, str]:
        # The {hash tag} keeps both windows in one cluster slot, as a multi-key PFCOUNT requires.
        now = int(self._clock() // self._window_s)
        base = f"{self._prefix}presence:{{{space_id}}}:"
        return f"{base}{now}", f"{base}{now - 1}"

    async def touch(self, space_id: str, listener_id: str) -> None:
        current, _ = self._keys(space_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.pfadd(current, listener_id)
            pipe.pexpire(current, self._ttl_ms)
            await pipe.execute()

    async def count(self, space_id: str) -> int:
        return int(await self._redis.pfcount(*self._keys(space_id)))

    async def counts(self, space_ids: Iterable[str]) -> dict[str, int]:
        ids = list(space_ids)
        async with self._redis.pipeline(transaction=False) as pipe:
            for space_id in ids:
                pipe.pfcount(*self._keys(space_id))
            results = await pipe.execute()
        return {space_id: int(n) for space_id, n in zip(ids, results, strict=True)}

    async def forget(self, space_id: str) -> None:
        await self._redis.delete(*self._keys(space_id))


class RedisRecentCounters:
    """One hash per scope and bucket; a reaction is a single HINCRBY whatever the audience."""

    def __init__(
        self,
        redis: Redis,
        bucket_s: float = 2.0,
        buckets: int = 5,
        clock: Clock = wall_clock,
        prefix: str = "majlis:",
    ) -> None:
        self._redis = redis
        self._bucket_s = bucket_s
        self._buckets = buckets
        self._clock = clock
        self._prefix = prefix
        # One bucket of slack so a bucket outlives the last read that can still include it.
        self._ttl_ms = _ttl_ms((buckets + 1) * bucket_s)

    def _key(self, scope: str, bucket: int) -> str:
        return f"{self._prefix}recent:{scope}:{bucket}"

    def _bucket_now(self) -> int:
        return int(self._clock() // self._bucket_s)

    async def add(self, scope: str, key: str, amount: int = 1) -> None:
        name = self._key(scope, self._bucket_now())
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(name, key, amount)
            pipe.pexpire(name, self._ttl_ms)
            await pipe.execute()

    async def recent(self, scope: str) -> dict[str, int]:
        now = self._bucket_now()
        async with self._redis.pipeline(transaction=False) as pipe:
            for bucket in range(now - self._buckets + 1, now + 1):
                pipe.hgetall(self._key(scope, bucket))
            hashes = await pipe.execute()
        total: Counter[str] = Counter()
        for fields in hashes:
            total.update({_text(k): int(v) for k, v in fields.items()})
        return dict(total)

    async def forget(self, scope: str) -> None:
        now = self._bucket_now()
        keys = [self._key(scope, b) for b in range(now - self._buckets, now + 1)]
        await self._redis.delete(*keys)


# Same steps, in the same order, as MemoryRateLimiter.hit so both round identically. Numbers cross
# the Lua boundary as %.17g strings: Lua's tostring keeps only 14 digits, and integer replies
# would truncate the fraction.
_GCRA = """
local now = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local interval = period / tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tat < now then tat = now end
local allow_at = tat - period + interval
if now < allow_at then
  return {0, string.format('%.17g', allow_at - now)}
end
redis.call('SET', KEYS[1], string.format('%.17g', tat + interval), 'PX', ARGV[4])
return {1, '0'}
"""


class RedisRateLimiter:
    """GCRA in one Lua script, so concurrent nodes cannot both spend the last unit."""

    def __init__(self, redis: Redis, clock: Clock = wall_clock, prefix: str = "majlis:") -> None:
        self._clock = clock
        self._prefix = prefix
        self._script = redis.register_script(_GCRA)

    async def hit(self, key: str, limit: int, period_s: float) -> Decision:
        # ``now`` comes from our clock, not Redis' TIME, so tests can drive time (and so the
        # formula matches the in-process one bit for bit).
        allowed, wait = await self._script(
            keys=[f"{self._prefix}rate:{key}"],
            args=[repr(float(self._clock())), repr(float(period_s)), limit, _ttl_ms(period_s)],
        )
        if int(allowed):
            return Decision(True, 0)
        return Decision(False, max(1, math.ceil(float(_text(wait)))))


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
                channel = _text(message["channel"])
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


def build_redis_seams(url: str, heartbeat_interval_s: float, prefix: str = "majlis:") -> LiveSeams:
    """``prefix`` namespaces every key and channel, so deployments can share one Redis."""
    redis = Redis.from_url(url)
    bus = RedisEventBus(redis, prefix=prefix)
    return LiveSeams(
        presence=RedisPresence(redis, window_s=heartbeat_interval_s, prefix=prefix),
        counters=RedisRecentCounters(redis, prefix=prefix),
        limiter=RedisRateLimiter(redis, prefix=prefix),
        bus=bus,
        speaking=RedisSpeaking(redis, prefix=prefix),
        closers=[bus.aclose, redis.aclose],
    )
