"""Following every Space's lifecycle (the ``spaces`` topic): went live → open its room (if it
is placed here), ended → close it, ``doors``/``teaser`` → the pre-show changes.

Events are a hint, the store is the truth: at start-up, and whenever the bus dropped the
subscription (Redis restarted, or the plane fell behind), the rooms are made to match the store
(``catch_up``), since events published meanwhile are lost and the store's state is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from majlis.domain.context import Context
from majlis.domain.events import SESSION_ENDED, SESSIONS_TOPIC, SPACES_TOPIC
from majlis.domain.model import Space
from majlis.media.plane.claims import Claims
from majlis.media.plane.doors import Doors
from majlis.media.plane.resubscribe import RESUBSCRIBE_MIN_S, subscribe_retrying
from majlis.media.plane.rooms import Rooms
from majlis.media.plane.tasks import cancel_and_wait
from majlis.seams.bus.protocol import Subscription
from majlis.types import JSON, SpaceState

log = logging.getLogger(__name__)
#: Spaces' lifecycle, and sessions that ended (whose WHIP sessions end with them).
TOPICS = [SPACES_TOPIC, SESSIONS_TOPIC]


class Lifecycle:
    def __init__(self, ctx: Context, rooms: Rooms, doors: Doors, claims: Claims) -> None:
        self._ctx = ctx
        self._rooms = rooms
        self._doors = doors
        self._claims = claims
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Subscribed before reading the store, so no change falls between the two.
        subscription = await self._ctx.live.bus.subscribe(TOPICS)
        await self.catch_up()
        self._task = asyncio.create_task(self._follow(subscription))

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def catch_up(self) -> None:
        """Make the rooms match the store: rooms of live Spaces, doors timers, ended rooms."""
        rooms = self._rooms
        live: set[str] = set()
        async for space in self._all_spaces("live"):
            live.add(space.id)
            if space.id in rooms.open:
                # Running here: the keeper keeps its placement (or closes it if placed
                # elsewhere). Asking owns() would place an unplaced Space on the cheapest node,
                # which after Redis came back empty is seldom the one running it.
                continue
            if not await self._claims.may_claim(space.id):
                continue
            if not await self._claims.owns(space.id):
                continue
            room = await rooms.open_room(space.id, space.record)
            await room.go_live()
        async for space in self._all_spaces("scheduled"):
            self._doors.plan(space)
        for space_id in [s for s in rooms.open if s not in live]:
            latest = await self._ctx.store.space(space_id)
            if latest is None or latest.state == "ended":
                await rooms.close(space_id, ended=True)
        await self._end_ended_sessions()

    async def _end_ended_sessions(self) -> None:
        """WHIP sessions whose signed-in session ended while the bus was away (its
        ``session_ended`` was never heard) hang up now: the store says which ended."""
        for room in list(self._rooms.open.values()):
            for account_id, auth_session in room.auth_sessions():
                if await self._ctx.store.session_by_id(account_id, auth_session) is None:
                    log.info("media: a session ended meanwhile; its WHIP sessions hang up")
                    await room.end_auth_session(auth_session)

    async def _all_spaces(self, state: SpaceState) -> AsyncIterator[Space]:
        cursor = None
        while True:
            page = await self._ctx.store.list_spaces(state, cursor, 100)
            for space in page.items:
                yield space
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def _follow(self, subscription: Subscription) -> None:
        """Forever: the stream ends only when the bus lost its connection; then subscribe
        again and catch up from the store."""
        while True:
            try:
                async for item in subscription:
                    await self._on_event(item)
            except Exception:
                log.exception("media plane: the lifecycle stream failed")
            finally:
                with contextlib.suppress(Exception):
                    await subscription.close()
            log.warning("media plane: lifecycle events interrupted; catching up from the store")
            await asyncio.sleep(RESUBSCRIBE_MIN_S)
            subscription = await subscribe_retrying(self._ctx.live.bus, TOPICS)
            try:
                await self.catch_up()
            except Exception:
                log.exception("media plane: catching up after the interruption failed")

    async def _on_event(self, item: JSON) -> None:
        kind = item.get("type")
        try:
            if kind == SESSION_ENDED:
                # Its owner ended the session (or it expired): its WHIP sessions end too.
                for room in list(self._rooms.open.values()):
                    await room.end_auth_session(str(item.get("session", "")))
                return
            if kind == "doors" or kind == "teaser":
                await self._doors.on_change(item["space_id"], kind)
            if kind != "state":
                return
            space_id = item["space_id"]
            self._doors.cancel(space_id)
            if item.get("state") == "live":
                space = await self._ctx.store.space(space_id)
                if space is None or space.state != "live":
                    return
                if await self._claims.owns(space.id):
                    room = await self._rooms.open_room(space.id, space.record)
                    await room.go_live()
            elif item.get("state") == "ended":
                self._claims.unplaced.discard(space_id)
                if space_id in self._rooms:
                    await self._claims.release(space_id)
                await self._rooms.close(space_id, ended=True)
        except Exception:
            log.exception("media plane: handling %s failed", item)
