"""One contract per live seam, run against every backend (in-process and Redis).

Time is a fake clock injected into both backends, so window, bucket and GCRA behaviour is
deterministic and no test sleeps for it. The kit and the ``run`` fixture are shared with the
other live-seam contracts (``tests/support/live_kit.py``, ``conftest.py``).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator

import pytest

from majlis.config import Settings
from majlis.seams.build import build_seams
from majlis.seams.bus.protocol import Subscription
from majlis.seams.bus.redis import RedisEventBus
from majlis.seams.ratelimit.memory import MemoryRateLimiter
from majlis.seams.ratelimit.protocol import Decision
from majlis.types import JSON
from tests.support.live_kit import REDIS_URL, START, Kit, Run, in_backend, need_redis

WAIT_S = 2.0  # upper bound for an event that must arrive
QUIET_S = 0.15  # how long we listen for an event that must not arrive


# --- presence ---------------------------------------------------------------------------------


def test_presence_counts_distinct_listeners(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        presence = kit.presence()
        assert await presence.count("s") == 0
        await presence.touch("s", "a")
        await presence.touch("s", "b")
        await presence.touch("s", "a")
        kit.clock.now += 3
        await presence.touch("s", "a")
        assert await presence.count("s") == 2

    run(scenario)


def test_presence_spans_the_window_boundary_then_fades(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        presence = kit.presence(window_s=10.0)
        kit.clock.now = START + 9.9
        await presence.touch("s", "a")
        kit.clock.now = START + 10.0  # next window: "a" is still counted via the previous one
        await presence.touch("s", "b")
        assert await presence.count("s") == 2
        kit.clock.now = START + 20.0  # "a" was last seen two windows ago
        assert await presence.count("s") == 1
        kit.clock.now = START + 30.0
        assert await presence.count("s") == 0

    run(scenario)


def test_presence_gone_after_two_idle_windows(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        presence = kit.presence(window_s=10.0)
        await presence.touch("s", "a")
        kit.clock.now = START + 19.9
        assert await presence.count("s") == 1
        kit.clock.now = START + 20.0
        assert await presence.count("s") == 0
        await presence.touch("s", "b")  # a Space comes back from zero
        assert await presence.count("s") == 1

    run(scenario)


def test_presence_counts_many_spaces(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        presence = kit.presence()
        for n in range(1, 6):
            for listener in range(n):
                await presence.touch(f"s{n}", f"l{listener}")
        expected = {f"s{n}": n for n in range(1, 6)} | {"unknown": 0}
        assert await presence.counts(list(expected)) == expected
        assert await presence.counts(iter(["s3", "s1"])) == {"s3": 3, "s1": 1}
        assert await presence.counts([]) == {}

    run(scenario)


def test_presence_forget(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        presence = kit.presence(window_s=10.0)
        await presence.touch("s", "a")
        kit.clock.now += 10
        await presence.touch("s", "b")
        await presence.touch("other", "a")
        await presence.forget("s")
        await presence.forget("never-seen")
        assert await presence.count("s") == 0
        assert await presence.count("other") == 1

    run(scenario)


def test_presence_knows_signed_in_listeners_by_account(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        presence = kit.presence()
        assert await presence.accounts("s", [1, 2]) == set()
        await presence.touch("s", "a", 1)
        await presence.touch("s", "b")  # anonymous: counted, but as no account
        await presence.touch("s", "c", 3)
        await presence.touch("other", "d", 2)
        assert await presence.count("s") == 3
        assert await presence.accounts("s", [1, 2, 3, 4]) == {1, 3}
        assert await presence.accounts("s", iter([3, 3, 5])) == {3}
        assert await presence.accounts("s", []) == set()
        assert await presence.accounts("other", {1, 2}) == {2}
        assert await presence.accounts("unknown", [1]) == set()

    run(scenario)


def test_presence_of_an_account_spans_two_windows_like_its_listener(run: Run) -> None:
    """An account is present exactly while its listener is counted: touched in the current or
    the previous window; heartbeats keep it so."""

    async def scenario(kit: Kit) -> None:
        presence = kit.presence(window_s=10.0)
        kit.clock.now = START + 9.9
        await presence.touch("s", "a", 1)
        await presence.touch("s", "b", 2)
        kit.clock.now = START + 10.0  # next window: both still present via the previous one
        await presence.touch("s", "b", 2)  # b's heartbeat
        assert await presence.accounts("s", [1, 2]) == {1, 2}
        kit.clock.now = START + 20.0  # a was last seen two windows ago; b one window ago
        assert await presence.count("s") == 1
        assert await presence.accounts("s", [1, 2]) == {2}
        await presence.touch("s", "b", 2)
        kit.clock.now = START + 39.9
        assert await presence.accounts("s", [1, 2]) == {2}
        kit.clock.now = START + 40.0
        assert await presence.count("s") == 0
        assert await presence.accounts("s", [1, 2]) == set()
        await presence.touch("s", "a2", 1)  # a joins again
        assert await presence.accounts("s", [1, 2]) == {1}

    run(scenario)


def test_presence_forget_drops_the_accounts_too(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        presence = kit.presence(window_s=10.0)
        await presence.touch("s", "a", 1)
        kit.clock.now += 10
        await presence.touch("s", "b", 2)
        await presence.touch("other", "c", 1)
        await presence.forget("s")
        assert await presence.accounts("s", [1, 2]) == set()
        assert await presence.accounts("other", [1, 2]) == {1}
        kit.clock.now += 1
        await presence.touch("s", "d", 2)  # a Space's presence starts afresh after forget
        assert await presence.accounts("s", [1, 2]) == {2}
        assert await presence.count("s") == 1

    run(scenario)


# --- recent counters --------------------------------------------------------------------------


def test_counters_sum_recent_buckets(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        counters = kit.counters(bucket_s=2.0, buckets=5)
        assert await counters.recent("s") == {}
        await counters.add("s", "clap")
        kit.clock.now += 2.5
        await counters.add("s", "clap", 3)
        await counters.add("s", "heart")
        assert await counters.recent("s") == {"clap": 4, "heart": 1}

    run(scenario)


def test_counters_expire_after_their_buckets(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        counters = kit.counters(bucket_s=2.0, buckets=5)
        await counters.add("s", "clap", 2)  # bucket START/2, counted until START + 10
        kit.clock.now = START + 4.0
        await counters.add("s", "heart")
        kit.clock.now = START + 9.99
        assert await counters.recent("s") == {"clap": 2, "heart": 1}
        kit.clock.now = START + 10.0
        assert await counters.recent("s") == {"heart": 1}
        kit.clock.now = START + 14.0
        assert await counters.recent("s") == {}

    run(scenario)


def test_counters_scopes_are_isolated(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        counters = kit.counters()
        await counters.add("a", "clap")
        await counters.add("b", "clap", 5)
        await counters.add("a:b", "clap", 7)
        assert await counters.recent("a") == {"clap": 1}
        assert await counters.recent("b") == {"clap": 5}
        assert await counters.recent("a:b") == {"clap": 7}

    run(scenario)


# --- rate limiter -----------------------------------------------------------------------------


def test_limiter_allows_a_burst_then_spaces_requests(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        limiter = kit.limiter()  # 3 per 6 s: a burst of 3, then one every 2 s
        for _ in range(3):
            assert await limiter.hit("k", 3, 6.0) == Decision(True, 0)
        assert await limiter.hit("k", 3, 6.0) == Decision(False, 2)
        kit.clock.now += 0.5
        assert await limiter.hit("k", 3, 6.0) == Decision(False, 2)  # 1.5 s rounds up
        kit.clock.now += 1.4
        assert await limiter.hit("k", 3, 6.0) == Decision(False, 1)  # never 0 when denied
        kit.clock.now += 0.1
        assert await limiter.hit("k", 3, 6.0) == Decision(True, 0)
        assert await limiter.hit("k", 3, 6.0) == Decision(False, 2)
        kit.clock.now += 6.0  # a full period later the whole burst is back
        for _ in range(3):
            assert (await limiter.hit("k", 3, 6.0)).allowed
        assert not (await limiter.hit("k", 3, 6.0)).allowed

    run(scenario)


def test_limiter_reports_long_waits(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        limiter = kit.limiter()
        assert await limiter.hit("k", 1, 3600.0) == Decision(True, 0)
        assert await limiter.hit("k", 1, 3600.0) == Decision(False, 3600)
        kit.clock.now += 0.25
        assert await limiter.hit("k", 1, 3600.0) == Decision(False, 3600)

    run(scenario)


def test_limiter_keys_are_isolated(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        limiter = kit.limiter()
        assert (await limiter.hit("a", 1, 60.0)).allowed
        assert not (await limiter.hit("a", 1, 60.0)).allowed
        assert (await limiter.hit("b", 1, 60.0)).allowed

    run(scenario)


@pytest.mark.redis
def test_redis_limiter_matches_memory_bit_for_bit(redis_unreachable: str | None) -> None:
    """Same float arithmetic on both sides: random irregular traffic yields identical decisions."""
    need_redis(redis_unreachable)

    async def scenario(kit: Kit) -> None:
        memory = MemoryRateLimiter(clock=kit.clock)
        redis = kit.limiter()
        rng = random.Random(7)
        for _ in range(300):
            kit.clock.now += rng.choice([0.0, 0.0, 0.001, 0.37, 1 / 3, 1.9, 7.0])
            key, limit, period = rng.choice([("a", 3, 1.0), ("b", 7, 10.0), ("c", 5, 0.3)])
            assert await redis.hit(key, limit, period) == await memory.hit(key, limit, period)

    asyncio.run(in_backend("redis", scenario))


# --- event bus --------------------------------------------------------------------------------


async def _next(events: AsyncIterator[JSON]) -> JSON:
    return await asyncio.wait_for(anext(events), WAIT_S)


async def _receives_nothing(events: AsyncIterator[JSON]) -> bool:
    """True if the stream ends or stays silent; an event arriving is a failure."""
    try:
        await asyncio.wait_for(anext(events), QUIET_S)
    except (TimeoutError, StopAsyncIteration):
        return True
    return False


def test_bus_delivers_subscribed_topics_only(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        bus = kit.bus()
        await bus.publish("t1", {"n": 0})  # before subscribing: never seen
        subscription = await bus.subscribe(["t1", "t2"])
        events = aiter(subscription)
        await bus.publish("t3", {"n": 1})  # published first, so it would arrive first
        await bus.publish("t1", {"n": 2, "nested": {"ok": True}, "list": [1, "x", None]})
        await bus.publish("t2", {"n": 3})
        assert await _next(events) == {"n": 2, "nested": {"ok": True}, "list": [1, "x", None]}
        assert await _next(events) == {"n": 3}
        await subscription.close()

    run(scenario)


def test_bus_fans_out_to_every_subscriber(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        bus = kit.bus()
        first = await bus.subscribe(["t"])
        second = await bus.subscribe(["t", "other"])
        for n in range(3):
            await bus.publish("t", {"n": n})
        for subscription in (first, second):
            events = aiter(subscription)
            assert [await _next(events) for _ in range(3)] == [{"n": 0}, {"n": 1}, {"n": 2}]
            await subscription.close()

    run(scenario)


def test_bus_close_stops_delivery(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        bus = kit.bus()
        closed = await bus.subscribe(["t"])
        open_ = await bus.subscribe(["t"])
        await closed.close()
        await bus.publish("t", {"n": 1})
        assert await _next(aiter(open_)) == {"n": 1}
        assert await _receives_nothing(aiter(closed))
        await closed.close()  # closing twice is harmless
        await open_.close()

    run(scenario)


def test_bus_close_wakes_a_waiting_reader(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        bus = kit.bus()
        subscription = await bus.subscribe(["t"])
        reader = asyncio.create_task(_drain(subscription))
        # Time for the reader to block waiting for an event (nothing to ask: had it not yet,
        # close() would end it all the same, so this cannot flake, only test less).
        await asyncio.sleep(0.05)
        await subscription.close()
        assert await asyncio.wait_for(reader, WAIT_S) == []

    run(scenario)


def test_counters_forget_drops_a_scope(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        counters = kit.counters()
        await counters.add("gone", "x", 3)
        await counters.add("kept", "x", 1)
        await counters.forget("gone")
        assert await counters.recent("gone") == {}
        assert await counters.recent("kept") == {"x": 1}

    run(scenario)


def test_bus_drops_an_overflowing_subscriber_only(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        bus = kit.bus(queue_size=4)
        slow = await bus.subscribe(["t"])
        fast = await bus.subscribe(["t"])
        fast_events = aiter(fast)
        for n in range(10):  # the fast one keeps up: it reads each event before the next
            await bus.publish("t", {"n": n})
            assert await _next(fast_events) == {"n": n}
        received = await asyncio.wait_for(_drain(slow), WAIT_S)  # must end, not block
        assert len(received) <= 4
        await bus.publish("t", {"n": 10})
        assert await _next(fast_events) == {"n": 10}
        await slow.close()
        await fast.close()

    run(scenario)


async def _drain(subscription: Subscription) -> list[JSON]:
    return [event async for event in subscription]


# --- Redis specifics --------------------------------------------------------------------------


@pytest.mark.redis
def test_redis_keys_carry_a_ttl(redis_unreachable: str | None) -> None:
    """Nothing may outlive its usefulness if a node dies or a Space ends without cleanup."""
    need_redis(redis_unreachable)

    async def scenario(kit: Kit) -> None:
        assert kit.redis is not None
        await kit.presence(window_s=10.0).touch("s", "a")
        await kit.counters(bucket_s=2.0, buckets=5).add("s", "clap")
        await kit.limiter().hit("k", 3, 6.0)
        keys = [key async for key in kit.redis.scan_iter(match=kit.prefix + "*")]
        assert len(keys) == 3
        for key in keys:
            assert 0 < await kit.redis.pttl(key) <= 30_000

    asyncio.run(in_backend("redis", scenario))


@pytest.mark.redis
def test_redis_presence_of_accounts_costs_a_key_each_with_a_ttl(
    redis_unreachable: str | None,
) -> None:
    """A signed-in touch adds one self-expiring key (its account's); forget adds a marker that
    expires too, rather than listing the accounts' keys to delete them."""
    need_redis(redis_unreachable)

    async def scenario(kit: Kit) -> None:
        assert kit.redis is not None
        presence = kit.presence(window_s=10.0)
        await presence.touch("s", "a", 1)
        await presence.touch("s", "b", 2)
        await presence.touch("s", "b", 2)
        await presence.forget("s")
        keys = [key async for key in kit.redis.scan_iter(match=kit.prefix + "*")]
        assert len(keys) == 3  # the two accounts' keys and the marker (the window is gone)
        for key in keys:
            assert 0 < await kit.redis.pttl(key) <= 30_000

    asyncio.run(in_backend("redis", scenario))


@pytest.mark.redis
def test_build_seams_wires_one_client(redis_unreachable: str | None) -> None:
    """Every Redis seam of a node shares the one client build_seams made, and closing the
    seams closes it (one pool per node, released once, after the bus' reader stopped)."""
    need_redis(redis_unreachable)

    async def scenario() -> None:
        seams = build_seams(Settings(redis_url=REDIS_URL, redis_prefix=f"t{uuid.uuid4().hex}:"))
        assert seams.redis is not None
        users = [
            seams.live.presence,
            seams.live.counters,
            seams.live.bus,
            seams.live.speaking,
            seams.registry,
            seams.placement,
        ]
        assert all(vars(user)["_redis"] is seams.redis for user in users)
        try:
            topic = f"test:{uuid.uuid4().hex}"
            subscription = await seams.live.bus.subscribe([topic])
            await seams.live.bus.publish(topic, {"ok": True})
            assert await _next(aiter(subscription)) == {"ok": True}
            await subscription.close()
        finally:
            await seams.aclose()

    asyncio.run(scenario())


@pytest.mark.redis
def test_redis_bus_subscribers_share_one_connection(redis_unreachable: str | None) -> None:
    """An SSE stream or a media room is a subscription; a node has thousands. They must not
    each take a pooled connection (redis-py's pool stops at 100: the node would then fail)."""
    need_redis(redis_unreachable)

    async def scenario(kit: Kit) -> None:
        assert kit.redis is not None
        bus = RedisEventBus(kit.redis, prefix=kit.prefix)
        subscriptions = [await bus.subscribe([f"t{n % 7}", "all"]) for n in range(150)]
        await bus.publish("all", {"to": "everyone"})
        for subscription in subscriptions:
            assert await _next(aiter(subscription)) == {"to": "everyone"}
        pool = kit.redis.connection_pool
        in_use = len(pool._in_use_connections) + len(pool._available_connections)
        assert in_use <= 3, in_use
        for subscription in subscriptions:
            await subscription.close()
        await bus.aclose()

    asyncio.run(in_backend("redis", scenario))
