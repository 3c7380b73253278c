"""Presence on Redis, for running more than one node.

Why each class mirrors its in-process twin's arithmetic exactly (same windows, buckets and GCRA
formula, time taken from the injected clock rather than Redis' TIME): one contract test suite
drives both with a fake clock, and nodes whose clocks agree agree on windows without talking.
Every key carries a TTL, so a crashed node or an ended Space never leaves state behind.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from redis.asyncio import Redis

from majlis.seams.clock import Clock, wall_clock
from majlis.seams.redis_replies import reply_text, ttl_ms


class RedisPresence:
    """Two HyperLogLogs per Space (current and previous window), about 12 KB each at most, and a
    small key per signed-in listener's account.

    Why HyperLogLog: distinct listeners are counted in constant memory whatever the audience, at
    the price of ~0.8% error on large counts (small counts are exact in the sparse encoding).

    Why a key per account (``...:a:<account>`` = when it was last touched, expiring with the
    windows) rather than a set of accounts per window: a touch stays O(1) and costs one more
    command in the same pipeline (``SET ... PX``, which carries its own TTL; a set would need a
    second command to expire it), and ``accounts`` reads exactly the keys it is asked about in
    one ``MGET``, whatever the audience size. The price is that ``forget`` cannot list the keys
    to delete: it leaves a marker with the time it forgot at instead, and a touch from before
    that time no longer counts (until both expire, within three windows).
    """

    def __init__(
        self, redis: Redis, window_s: float, clock: Clock = wall_clock, prefix: str = "majlis:"
    ) -> None:
        self._redis = redis
        self._window_s = window_s
        self._clock = clock
        self._prefix = prefix
        self._ttl_ms = ttl_ms(3 * window_s)

    def _base(self, space_id: str) -> str:
        # The {hash tag} keeps a Space's keys in one cluster slot, as a multi-key PFCOUNT (and the
        # MGET of ``accounts``) requires.
        return f"{self._prefix}presence:{{{space_id}}}:"

    def _keys(self, space_id: str) -> tuple[str, str]:
        now = int(self._clock() // self._window_s)
        base = self._base(space_id)
        return f"{base}{now}", f"{base}{now - 1}"

    async def touch(self, space_id: str, listener_id: str, account_id: int | None = None) -> None:
        now = self._clock()
        base = self._base(space_id)
        current = f"{base}{int(now // self._window_s)}"
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.pfadd(current, listener_id)
            pipe.pexpire(current, self._ttl_ms)
            if account_id is not None:
                pipe.set(f"{base}a:{account_id}", repr(now), px=self._ttl_ms)
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

    async def accounts(self, space_id: str, among: Iterable[int]) -> set[int]:
        ids = list(set(among))
        if not ids:
            return set()
        base = self._base(space_id)
        first_window = int(self._clock() // self._window_s) - 1
        forgot, *seen = await self._redis.mget([f"{base}forgot", *(f"{base}a:{a}" for a in ids)])
        forgot_at = float(reply_text(forgot)) if forgot is not None else -math.inf
        present: set[int] = set()
        for account_id, value in zip(ids, seen, strict=True):
            if value is None:
                continue
            at = float(reply_text(value))
            if at > forgot_at and int(at // self._window_s) >= first_window:
                present.add(account_id)
        return present

    async def forget(self, space_id: str) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(*self._keys(space_id))
            pipe.set(f"{self._base(space_id)}forgot", repr(self._clock()), px=self._ttl_ms)
            await pipe.execute()
