"""One short-lived cache for the hot paths: bounded LRU entries with a time to live, and
single-flight loads.

Why: the audience path (join, snapshot, heartbeat) and the auth path read the same few rows a
million times a minute. Each node keeps what it read for a second or so (``ttl_s``) and, when an
entry is missing, lets one caller load it while every concurrent caller for that key waits on
the same load instead of stampeding the store. The bound is an LRU (cachetools' ``TTLCache``):
a flood of distinct keys evicts the least recently used ones, never empties the whole cache at
once (which used to send every hot key back to the store in the same instant).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from cachetools import TTLCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_MISSING = object()  # entries may be None (a Space that does not exist is worth caching too)


class TtlCache(Generic[K, V]):
    def __init__(
        self, ttl_s: float, max_entries: int, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: TTLCache[K, V] = TTLCache(maxsize=max_entries, ttl=ttl_s, timer=timer)
        self._loading: dict[K, asyncio.Future[V]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, key: K) -> V | None:
        """The live entry for ``key``, or None when missing or expired (for caches whose
        values are never None)."""
        return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value

    def invalidate(self, key: K) -> None:
        """Forget ``key`` now (a write on this node); other nodes converge within the TTL."""
        self._entries.pop(key, None)

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The entry for ``key``; on a miss, one ``load()`` shared by every concurrent caller.

        A failed load is not cached: each waiter re-raises its exception, and the next call
        loads again."""
        hit = self._entries.get(key, _MISSING)
        if hit is not _MISSING:
            return hit  # type: ignore[return-value]  # not the sentinel, so a V
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # marked retrieved: the waiters re-raise it themselves
            raise
        else:
            future.set_result(value)
            self._entries[key] = value
            return value
        finally:
            del self._loading[key]
