"""A short-lived, request-collapsing cache of Spaces for the audience path.

Why: join, snapshot and reactions arrive a million at a time for one Space. Each node reads the
Space (and its ban list) from the store at most once per ``ttl`` no matter how many requests
arrive; concurrent misses share one in-flight read instead of stampeding the database. Writes
on this node invalidate at once; other nodes converge within ``ttl``.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass

from majlis.store.protocol import Store
from majlis.store.records import Space

SPACE_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")


@dataclass(frozen=True)
class CachedSpace:
    space: Space
    banned: frozenset[int]


class SpaceCache:
    def __init__(self, store: Store, ttl_s: float, max_entries: int = 10_000) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._entries: dict[str, tuple[float, CachedSpace | None]] = {}
        self._inflight: dict[str, asyncio.Future[CachedSpace | None]] = {}

    async def get(self, space_id: str) -> CachedSpace | None:
        if not SPACE_ID.fullmatch(space_id):
            return None
        entry = self._entries.get(space_id)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        pending = self._inflight.get(space_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[CachedSpace | None] = asyncio.get_running_loop().create_future()
        self._inflight[space_id] = future
        try:
            value = await self._load(space_id)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        else:
            future.set_result(value)
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[space_id] = (time.monotonic() + self._ttl_s, value)
            return value
        finally:
            del self._inflight[space_id]

    async def _load(self, space_id: str) -> CachedSpace | None:
        space = await self._store.space(space_id)
        if space is None:
            return None
        return CachedSpace(space=space, banned=await self._store.banned_ids(space_id))

    def invalidate(self, space_id: str) -> None:
        self._entries.pop(space_id, None)
