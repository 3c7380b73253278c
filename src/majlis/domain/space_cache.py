"""A short-lived, request-collapsing cache of Spaces for the audience path.

Why: join, snapshot and reactions arrive a million at a time for one Space. Each node reads the
Space (and its ban list) from the store at most once per ``ttl`` no matter how many requests
arrive; concurrent misses share one in-flight read instead of stampeding the database. Writes
on this node invalidate at once; other nodes converge within ``ttl``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from majlis.caching import TtlCache
from majlis.domain.model import Space
from majlis.domain.store import Store

SPACE_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")


@dataclass(frozen=True)
class CachedSpace:
    space: Space
    banned: frozenset[int]


class SpaceCache:
    def __init__(self, store: Store, ttl_s: float, max_entries: int = 10_000) -> None:
        self._store = store
        self._entries: TtlCache[str, CachedSpace | None] = TtlCache(ttl_s, max_entries)

    async def get(self, space_id: str) -> CachedSpace | None:
        if not SPACE_ID.fullmatch(space_id):
            return None
        return await self._entries.get_or_load(space_id, lambda: self._load(space_id))

    async def _load(self, space_id: str) -> CachedSpace | None:
        space = await self._store.space(space_id)
        if space is None:
            return None
        return CachedSpace(space=space, banned=await self._store.banned_ids(space_id))

    def invalidate(self, space_id: str) -> None:
        self._entries.invalidate(space_id)
