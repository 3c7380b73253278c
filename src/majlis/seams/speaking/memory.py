"""Who is speaking, in process: the single-node product."""

from __future__ import annotations

from collections.abc import Sequence

from majlis.seams.clock import Clock, wall_clock
from majlis.seams.speaking.protocol import SPEAKING_TTL_S


class MemorySpeaking:
    """Single node: the Room and the snapshot share this process."""

    def __init__(self, ttl_s: float = SPEAKING_TTL_S, clock: Clock = wall_clock) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._sets: dict[str, tuple[float, tuple[str, ...]]] = {}

    async def publish(self, space_id: str, handles: Sequence[str]) -> None:
        if handles:
            self._sets[space_id] = (self._clock() + self._ttl_s, tuple(handles))
        else:
            self._sets.pop(space_id, None)

    async def current(self, space_id: str) -> tuple[str, ...]:
        hit = self._sets.get(space_id)
        if hit is None:
            return ()
        if hit[0] <= self._clock():
            del self._sets[space_id]
            return ()
        return hit[1]

    async def forget(self, space_id: str) -> None:
        self._sets.pop(space_id, None)
