"""Exact in-process presence: the single-node product."""

from __future__ import annotations

from collections.abc import Iterable

from majlis.seams.clock import Clock, wall_clock


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
