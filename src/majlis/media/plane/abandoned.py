"""Spaces do not outlive their people: a live Space whose stage nobody has been connected to for
``abandoned_space_end_s`` ends itself, and its recording is finalized as if the host had ended it.

Why: a probe (issue 14, finding 5) stopped ``majlis demo`` uncleanly and started ``majlis serve``
on the same data directory: the demo Space was listed Live and played silence to anyone who came,
for ever. A host whose browser crashed, or who walked away, leaves the same ghost. Only the node
that runs a Space's room knows whether anyone is connected to its stage, so the watch is here,
one pass per ``check_s`` over this node's open rooms. A pre-show (doors open, no show yet) is not
watched: it is meant to play to an empty stage until the host starts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from majlis.media.plane.rooms import Rooms
from majlis.media.plane.tasks import cancel_and_wait

log = logging.getLogger(__name__)

#: ``space_id -> None``: end the Space as the host would (its state, its events, its recording).
EndSpace = Callable[[str], Awaitable[None]]


class AbandonedSpaces:
    def __init__(
        self,
        rooms: Rooms,
        end_space: EndSpace,
        after_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rooms = rooms
        self._end_space = end_space
        self.after_s = after_s
        #: How often the rooms are looked at: an ending is at most this late.
        self.check_s = min(5.0, max(0.05, after_s / 10))
        self._clock = clock
        #: Per live room, since when its stage has had nobody connected.
        self._empty_since: dict[str, float] = {}
        #: Passes made so far (what a test waits on instead of a clock).
        self.passes = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch_forever(), name="abandoned-spaces")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def _watch_forever(self) -> None:
        while True:
            await asyncio.sleep(self.check_s)
            for space_id in self.due():
                try:
                    await self._end_space(space_id)
                except Exception as exc:  # ended meanwhile, or the store is away: next pass
                    log.debug("media: ending abandoned Space %s failed: %s", space_id, exc)
            self.passes += 1

    def due(self) -> list[str]:
        """The live rooms whose stage has been empty for ``after_s`` (one pass of the watch)."""
        now = self._clock()
        watched = {s: r for s, r in self._rooms.open.items() if not r.preshow}
        for space_id in [s for s in self._empty_since if s not in watched]:
            del self._empty_since[space_id]  # its room closed: forget it
        due = []
        for space_id, room in watched.items():
            if room.sessions:
                self._empty_since.pop(space_id, None)
                continue
            since = self._empty_since.setdefault(space_id, now)
            if now - since >= self.after_s:
                log.warning(
                    "media: nobody on the stage of Space %s for %.0f s; ending it",
                    space_id,
                    now - since,
                )
                due.append(space_id)
        return due
