"""Doors open (the pre-show): a timer per scheduled Space, and its teaser.

A scheduled Space with ``doors_open_minutes`` gets a timer here, set at start-up and reset by
every ``doors`` event, that opens its room at ``doors_open_at`` without waiting for any request.
That room loops the teaser (or the default hold audio) into the program; when the Space goes
live the *same* room becomes the live room (``Room.go_live``), so listeners already seated keep
the same playlist, media sequence and timeline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from majlis.domain.context import Context
from majlis.domain.model import Space
from majlis.media.mixer import Pcm
from majlis.media.plane.claims import Claims
from majlis.media.plane.rooms import Rooms
from majlis.media.plane.tasks import cancel_and_wait
from majlis.media.room import Room
from majlis.media.teaser import BadTeaser, TeaserPlayer, decode_teaser, default_hold

log = logging.getLogger(__name__)
#: A doors timer firing this early still opens the doors (timers and clocks are not exact).
DOORS_SLACK = timedelta(seconds=1)
#: Wall-clock budget for decoding a stored teaser (it decoded within this at upload already).
TEASER_DECODE_BUDGET_S = 30.0


class Doors:
    def __init__(self, ctx: Context, rooms: Rooms, claims: Claims) -> None:
        self._ctx = ctx
        self._rooms = rooms
        self._claims = claims
        #: Per scheduled Space with a pre-show: the timer that opens its doors.
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._background: set[asyncio.Task[None]] = set()
        #: Per Space, how many teaser changes arrived: a slow decode never undoes a newer one.
        self._teaser_changes: dict[str, int] = {}

    def plan(self, space: Space) -> None:
        """(Re)arm the timer that opens this Space's doors; open them now if the time has come."""
        self.cancel(space.id)
        at = space.doors_open_at
        stopping = self._rooms.stopping
        if stopping or space.state != "scheduled" or at is None or space.id in self._rooms:
            return
        delay = max(0.0, (at - self._ctx.now()).total_seconds())
        self._timers[space.id] = asyncio.get_running_loop().call_later(delay, self._due, space.id)

    def cancel(self, space_id: str) -> None:
        timer = self._timers.pop(space_id, None)
        if timer is not None:
            timer.cancel()

    def forget(self, space_id: str) -> None:
        """The Space's room closes: no timer, and no teaser swap still on its way counts."""
        self.cancel(space_id)
        self._teaser_changes.pop(space_id, None)

    async def stop(self) -> None:
        """No more timers or background work (the rooms refuse new openings already)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in list(self._background):
            await cancel_and_wait(task)

    def _due(self, space_id: str) -> None:
        self._in_background(self.open_doors(space_id))

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Decoding a teaser takes up to a second: never in the way of the lifecycle events."""
        if self._rooms.stopping:
            work.close()
            return
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def open_doors(self, space_id: str) -> None:
        self._timers.pop(space_id, None)
        rooms = self._rooms
        try:
            space = await self._ctx.store.space(space_id)
            if space is None or space.state != "scheduled":
                return
            if not space.doors_open(self._ctx.now() + DOORS_SLACK):
                self.plan(space)  # rescheduled meanwhile, or the timer fired early
                return
            if space_id not in rooms and not await self._claims.owns(space_id):
                return  # another node opens these doors
            teaser = await self._teaser_pcm(space)
            room = await rooms.open_room(space.id, space.record, teaser=teaser)
            log.info("media: doors open for Space %s (teaser: %s)", space.id, space.has_teaser)
            # The Space may have started or ended while the room was opening, and that event
            # found no room to act on: settle with the store's word.
            latest = await self._ctx.store.space(space_id)
            if latest is None or latest.state == "ended":
                await rooms.close(space_id, ended=True)
            elif latest.state == "live":
                await room.go_live()
        except Exception:
            log.exception("media: opening the doors of Space %s failed", space_id)

    async def on_change(self, space_id: str, kind: str) -> None:
        """A ``doors`` event (the schedule changed) or a ``teaser`` event (the audio changed)."""
        space = await self._ctx.store.space(space_id)
        if space is None:
            return
        if kind == "doors":
            self.plan(space)
            return
        room = self._rooms.get(space_id)
        if room is not None and room.preshow:
            self._teaser_changes[space_id] = change = self._teaser_changes.get(space_id, 0) + 1
            self._in_background(self._swap_teaser(room, space, change))

    async def _swap_teaser(self, room: Room, space: Space, change: int) -> None:
        try:
            pcm = await self._teaser_pcm(space)
        except Exception:
            log.exception("media: loading the new teaser of Space %s failed", space.id)
            return
        if self._teaser_changes.get(space.id) == change:  # a later change wins, however fast
            room.set_teaser(TeaserPlayer(pcm))

    async def _teaser_pcm(self, space: Space) -> Pcm:
        """The host's teaser (decoded again here: any node may play it), else the hold loop."""
        stored = await self._ctx.store.teaser(space.id) if space.has_teaser else None
        if stored is None:
            return await asyncio.to_thread(default_hold)  # ~60 ms the first time: off the loop
        settings = self._ctx.settings
        try:
            decoded = await asyncio.to_thread(
                decode_teaser, stored.audio, settings.teaser_max_s, TEASER_DECODE_BUDGET_S
            )
        except BadTeaser:
            log.exception("media: the stored teaser of Space %s no longer decodes", space.id)
            return default_hold()
        return decoded.pcm
