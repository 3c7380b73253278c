"""Who is listening: approximate distinct listeners seen within about two heartbeat intervals.

Why windows instead of a row per listener: a listener is counted by adding its id to the set of
the current window; the count is the union of the current and the previous window. No per-listener
expiry bookkeeping, no writes on leave, and the Redis version is two HyperLogLogs per Space
(PFADD + PFCOUNT over two keys), 12 KB each whatever the audience size.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from majlis.live.clock import Clock, wall_clock


class Presence(Protocol):
    async def touch(self, space_id: str, listener_id: str) -> None:
        """Count ``listener_id`` as present in ``space_id`` now (join or heartbeat)."""

    async def count(self, space_id: str) -> int:
        """Distinct listeners seen in the current or the previous window."""

    async def counts(self, space_ids: Iterable[str]) -> dict[str, int]:
        """``count`` for many Spaces in one round trip."""

    async def forget(self, space_id: str) -> None:
        """Drop a Space's presence (it ended)."""


class MemoryPresence:
    """Exact in-process presence; each Space keeps two sets of ids (current, previous window)."""

    def __init__(self, window_s: float, clock: Clock = wall_clock) -> None:
        self._window_s = window_s
        self._clock = clock
        self._windows: dict[str, tuple[int, set[str], set[str]]] = {}

    def _window_now(self) -> int:
        return int(self._clock() // self._window_s)

    def _current(self, space_id: str) -> tuple[set[str], set[str]]:
        now = self._window_now()
        entry = self._windows.get(space_id)
        if entry is None:
            current: set[str] = set()
            previous: set[str] = set()
        else:
            window, current, previous = entry
            if window == now - 1:
                current, previous = set(), current
            elif window != now:
                current, previous = set(), set()
        self._windows[space_id] = (now, current, previous)
        return current, previous

    async def touch(self, space_id: str, listener_id: str) -> None:
        current, _ = self._current(space_id)
        current.add(listener_id)

    async def count(self, space_id: str) -> int:
        if space_id not in self._windows:
            return 0
        current, previous = self._current(space_id)
        return len(current | previous) if previous else len(current)

    async def counts(self, space_ids: Iterable[str]) -> dict[str, int]:
        return {space_id: await self.count(space_id) for space_id in space_ids}

    async def forget(self, space_id: str) -> None:
        self._windows.pop(space_id, None)
