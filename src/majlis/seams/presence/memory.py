"""Exact in-process presence: the single-node product."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from majlis.seams.clock import Clock, wall_clock


@dataclass(slots=True)
class _Windows:
    """One Space's current and previous window: the listener ids, and the accounts, seen."""

    window: int
    listeners: set[str] = field(default_factory=set)
    previous_listeners: set[str] = field(default_factory=set)
    accounts: set[int] = field(default_factory=set)
    previous_accounts: set[int] = field(default_factory=set)


class MemoryPresence:
    """Exact in-process presence; each Space keeps two sets of ids (current, previous window),
    and two of the accounts among them, so it holds only who was seen lately."""

    def __init__(self, window_s: float, clock: Clock = wall_clock) -> None:
        self._window_s = window_s
        self._clock = clock
        self._windows: dict[str, _Windows] = {}

    def _window_now(self) -> int:
        return int(self._clock() // self._window_s)

    def _current(self, space_id: str) -> _Windows:
        now = self._window_now()
        windows = self._windows.get(space_id)
        if windows is not None and windows.window == now:
            return windows
        if windows is not None and windows.window == now - 1:
            windows = _Windows(
                now, previous_listeners=windows.listeners, previous_accounts=windows.accounts
            )
        else:  # nothing seen for two windows (or the clock went back): start afresh
            windows = _Windows(now)
        self._windows[space_id] = windows
        return windows

    async def touch(self, space_id: str, listener_id: str, account_id: int | None = None) -> None:
        windows = self._current(space_id)
        windows.listeners.add(listener_id)
        if account_id is not None:
            windows.accounts.add(account_id)

    async def count(self, space_id: str) -> int:
        if space_id not in self._windows:
            return 0
        windows = self._current(space_id)
        if not windows.previous_listeners:
            return len(windows.listeners)
        return len(windows.listeners | windows.previous_listeners)

    async def counts(self, space_ids: Iterable[str]) -> dict[str, int]:
        return {space_id: await self.count(space_id) for space_id in space_ids}

    async def accounts(self, space_id: str, among: Iterable[int]) -> set[int]:
        if space_id not in self._windows:
            return set()
        windows = self._current(space_id)
        current, previous = windows.accounts, windows.previous_accounts
        return {a for a in among if a in current or a in previous}

    async def forget(self, space_id: str) -> None:
        self._windows.pop(space_id, None)
