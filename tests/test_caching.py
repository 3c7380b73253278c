"""majlis.caching.TtlCache: entries expire, the bound evicts the least recently used (never the
whole cache), and concurrent misses share one load."""

from __future__ import annotations

import asyncio

import pytest

from majlis.caching import TtlCache


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_lives_for_its_ttl() -> None:
    clock = FakeClock()
    cache: TtlCache[str, int] = TtlCache(1.0, 10, timer=clock)
    cache.put("a", 1)
    clock.now = 0.99
    assert cache.peek("a") == 1
    clock.now = 1.0
    assert cache.peek("a") is None


def test_a_full_cache_evicts_the_least_recently_used_not_everything() -> None:
    cache: TtlCache[int, int] = TtlCache(60.0, 3, timer=FakeClock())
    for key in (1, 2, 3):
        cache.put(key, key)
    assert cache.peek(1) == 1  # 1 is now more recently used than 2
    cache.put(4, 4)
    assert [cache.peek(k) for k in (1, 2, 3, 4)] == [1, None, 3, 4]
    assert len(cache) == 3


def test_concurrent_misses_share_one_load_and_none_is_a_value() -> None:
    async def scenario() -> None:
        cache: TtlCache[str, int | None] = TtlCache(60.0, 10)
        loads = 0
        release = asyncio.Event()

        async def load() -> int | None:
            nonlocal loads
            loads += 1
            await release.wait()
            return None

        waiters = [asyncio.create_task(cache.get_or_load("k", load)) for _ in range(50)]
        await asyncio.sleep(0)  # every waiter reaches the cache before the load finishes
        release.set()
        assert await asyncio.gather(*waiters) == [None] * 50
        assert await cache.get_or_load("k", load) is None  # cached None, no second load
        assert loads == 1

    asyncio.run(scenario())


def test_a_failed_load_is_not_cached_and_every_waiter_sees_the_error() -> None:
    async def scenario() -> None:
        cache: TtlCache[str, int] = TtlCache(60.0, 10)
        release = asyncio.Event()

        async def failing() -> int:
            await release.wait()
            raise LookupError("store down")

        async def working() -> int:
            return 7

        waiters = [asyncio.create_task(cache.get_or_load("k", failing)) for _ in range(3)]
        await asyncio.sleep(0)
        release.set()
        results = await asyncio.gather(*waiters, return_exceptions=True)
        assert all(isinstance(r, LookupError) for r in results)
        assert await cache.get_or_load("k", working) == 7

    asyncio.run(scenario())


def test_invalidate_forgets_at_once() -> None:
    cache: TtlCache[str, int] = TtlCache(60.0, 10)
    cache.put("a", 1)
    cache.invalidate("a")
    cache.invalidate("never there")
    assert cache.peek("a") is None


@pytest.mark.parametrize("ttl_s", [0.5, 2.0])
def test_ttl_is_per_cache(ttl_s: float) -> None:
    clock = FakeClock()
    cache: TtlCache[str, str] = TtlCache(ttl_s, 10, timer=clock)
    cache.put("x", "y")
    clock.now = ttl_s - 0.01
    assert cache.peek("x") == "y"
