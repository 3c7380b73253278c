"""Placement (issue 6): a room opens only on the node the Space is placed on (``Ownership``).

Every media node hears every lifecycle event and asks where the Space runs (``Claims.owns``);
the placement is claimed atomically, so exactly one node opens the room and the others leave it
be. A single node is a cluster of one: every Space is placed on it. ``PlacementKeeper`` runs
once a heartbeat: it moves Spaces off dead nodes (failover), opens the rooms placed here that
are not open (a Space re-placed here by another node, or an event missed), and closes rooms
placed elsewhere meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from majlis.cluster.ownership import Ownership
from majlis.domain.context import Context
from majlis.media.plane.claims import Claims
from majlis.media.plane.doors import DOORS_SLACK, Doors
from majlis.media.plane.rooms import Rooms
from majlis.media.plane.tasks import cancel_and_wait

log = logging.getLogger(__name__)
#: Every this many placement checks, the rooms are also matched against the store's live Spaces
#: (a Space that went live while no media node could take it is placed then).
CATCH_UP_EVERY = 10


class PlacementKeeper:
    def __init__(
        self,
        ctx: Context,
        ownership: Ownership,
        claims: Claims,
        rooms: Rooms,
        doors: Doors,
        catch_up: Callable[[], Awaitable[None]],
    ) -> None:
        self._ctx = ctx
        self._ownership = ownership
        self._claims = claims
        self._rooms = rooms
        self._doors = doors
        self._catch_up = catch_up
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep_placed_forever(), name="keep-placed")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def _keep_placed_forever(self) -> None:
        checks = 0
        while True:
            await asyncio.sleep(self._ctx.settings.node_heartbeat_s)
            checks += 1
            try:
                await self.keep_placed()
                if checks % CATCH_UP_EVERY == 0:
                    await self._catch_up()
            except Exception as exc:  # Redis away: the heartbeat says so; try again next time
                log.debug("media: placement check failed: %s", exc)

    async def keep_placed(self) -> None:
        """One placement check (see the module docstring): failover, adopt, let go."""
        placement, me = self._ownership.placement, self._ownership.node_id
        for space_id, dead in (await placement.orphaned()).items():
            moved_to = await placement.replace(space_id, dead)
            log.warning("media: node %s is gone; Space %s moves to %s", dead, space_id, moved_to)
        mine = set(await placement.spaces_on(me))
        rooms = self._rooms
        opening = rooms.opening
        # A room being opened (a go-live this node is handling) is not one to take over.
        for space_id in sorted(mine - set(rooms.open) - opening):
            await self._adopt(space_id)
        for space_id in [s for s in rooms.open if s not in mine and s not in opening]:
            if await placement.placement_of(space_id) is None:
                # The placement lapsed (Redis was away, or came back empty): the room stays
                # here, its speakers connected, rather than move to a cheaper node; once this
                # node's own lease is back, or another node would see it placed on a dead one.
                if await self._ownership.registry.node(me) is None:
                    continue
                if await placement.keep(space_id, me) == me:
                    continue
            log.warning("media: Space %s was placed elsewhere; closing its room", space_id)
            await rooms.close(space_id, ended=False)
        for space_id in sorted(self._claims.unplaced):
            await self._adopt(space_id, placed=False)

    async def _adopt(self, space_id: str, placed: bool = True) -> None:
        """Open the room of a Space placed here (taken over from a dead node, or placed while
        this node missed the event), if the store says it should run."""
        space = await self._ctx.store.space(space_id)
        runs = space is not None and (
            space.state == "live"
            or (space.state == "scheduled" and space.doors_open(self._ctx.now() + DOORS_SLACK))
        )
        if space is None or not runs:
            self._claims.unplaced.discard(space_id)
            if placed:
                await self._claims.release(space_id)
            return
        if not placed and not await self._claims.owns(space_id):
            return
        if space.state == "live":
            log.info("media: taking over live Space %s", space_id)
            room = await self._rooms.open_room(space.id, space.record)
            await room.go_live()
        else:
            await self._doors.open_doors(space_id)
