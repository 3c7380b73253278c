"""The media plane of one node: a Room per live Space, driven by the domain's events.

It listens to the ``spaces`` topic (a Space went live → open its room; ended → finalize it) and
to each room's ``space:<id>`` topic (left the stage or removed → hang up; muted → out of the
mix). WHIP offers are authorized against the store, not the event stream, so a speaker can
never connect on stale information.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from majlis.domain.context import Context
from majlis.domain.errors import BadOffer, Conflict, Forbidden, NotFound, Overloaded
from majlis.domain.events import SPACES_TOPIC, space_topic
from majlis.domain.space_cache import SPACE_ID
from majlis.live.bus import Subscription
from majlis.media.hls.stream import LiveStream
from majlis.media.program import ProgramOutput
from majlis.media.room import Room
from majlis.media.whip import NegotiationFailed, SpeakerSession
from majlis.store.records import Account, Space
from majlis.types import JSON

log = logging.getLogger(__name__)
#: How long an ended Space's stream stays servable, so players fetch its ENDLIST.
ENDED_STREAM_GRACE_S = 60.0


@dataclass
class Answer:
    session_id: str
    sdp: str


class MediaPlane:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self.rooms: dict[str, Room] = {}
        self._ended: dict[str, LiveStream] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._lifecycle: asyncio.Task[None] | None = None
        self._opening: dict[str, asyncio.Task[Room]] = {}

    async def start(self) -> None:
        subscription = await self._ctx.live.bus.subscribe([SPACES_TOPIC])
        self._lifecycle = asyncio.create_task(self._follow_lifecycle(subscription))
        cursor = None
        while True:
            page = await self._ctx.store.list_spaces("live", cursor, 100)
            for space in page.items:
                await self.open_room(space.id, space.record)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor

    async def stop(self) -> None:
        if self._lifecycle is not None:
            self._lifecycle.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lifecycle
        for space_id in list(self.rooms):
            await self.close_room(space_id, ended=False)

    async def _follow_lifecycle(self, subscription: Subscription) -> None:
        try:
            async for item in subscription:
                if item.get("type") != "state":
                    continue
                try:
                    if item.get("state") == "live":
                        space = await self._ctx.store.space(item["space_id"])
                        if space is not None and space.state == "live":
                            await self.open_room(space.id, space.record)
                    elif item.get("state") == "ended":
                        await self.close_room(item["space_id"], ended=True)
                except Exception:
                    log.exception("media plane: handling %s failed", item)
        finally:
            await subscription.close()

    async def open_room(self, space_id: str, record: bool) -> Room:
        room = self.rooms.get(space_id)
        if room is not None:
            return room
        pending = self._opening.get(space_id)
        if pending is None:
            pending = asyncio.ensure_future(self._open(space_id, record))
            self._opening[space_id] = pending
            pending.add_done_callback(lambda _: self._opening.pop(space_id, None))
        return await asyncio.shield(pending)

    async def _open(self, space_id: str, record: bool) -> Room:
        recording = self.recording_path(space_id) if record else None
        program = ProgramOutput(recording)

        async def publish(event: JSON) -> None:
            self._ctx.speaking[space_id] = tuple(event.get("handles", ()))
            await self._ctx.live.bus.publish(space_topic(space_id), event)

        shared = self._ctx.settings.stage_encoding == "shared"
        room = Room(space_id, program, publish, shared_stage_encoding=shared)
        await room.start()
        self.rooms[space_id] = room
        subscription = await self._ctx.live.bus.subscribe([space_topic(space_id)])
        self._watchers[space_id] = asyncio.create_task(self._watch(room, subscription))
        log.info("media: room open for Space %s (recording: %s)", space_id, bool(recording))
        return room

    def recording_path(self, space_id: str) -> Path:
        return self._ctx.settings.data_dir / "recordings" / f"{space_id}.m4a"

    async def close_room(self, space_id: str, ended: bool) -> None:
        room = self.rooms.pop(space_id, None)
        watcher = self._watchers.pop(space_id, None)
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        self._ctx.speaking.pop(space_id, None)
        if room is None:
            return
        await room.stop()
        if ended:
            self._ended[space_id] = room.stream
            asyncio.get_running_loop().call_later(
                ENDED_STREAM_GRACE_S, self._ended.pop, space_id, None
            )

    async def _watch(self, room: Room, subscription: Subscription) -> None:
        try:
            async for item in subscription:
                kind = item.get("type")
                handle = item.get("handle")
                if not isinstance(handle, str):
                    continue
                if kind == "removed" or (kind == "stage" and item.get("role") is None):
                    await room.disconnect(handle)
                elif kind == "mute":
                    room.set_muted(handle, bool(item.get("muted")))
        finally:
            await subscription.close()

    def stream(self, space_id: str) -> LiveStream | None:
        room = self.rooms.get(space_id)
        return room.stream if room is not None else self._ended.get(space_id)

    async def authorize(self, space_id: str, me: Account) -> Space:
        """Refuse callers before reading their offer: unknown Space, not live, not on stage."""
        space = await self._ctx.store.space(space_id) if SPACE_ID.fullmatch(space_id) else None
        if space is None:
            raise NotFound(f"there is no Space {space_id!r}")
        if space.state != "live":
            raise Conflict(f"the Space is {space.state}; speakers connect only while it is live")
        if space.member(me.id) is None:
            raise Forbidden("only people on the stage can speak; ask to speak first")
        return space

    async def offer(self, space: Space, me: Account, sdp: str) -> Answer:
        member = space.member(me.id)
        assert member is not None
        room = await self.open_room(space.id, space.record)
        try:
            session = await room.connect(me.handle, me.id, member.muted, sdp)
        except NegotiationFailed as exc:
            raise BadOffer(f"the offer could not be answered: {exc}") from exc
        except OSError as exc:
            raise Overloaded("no media ports are free right now", retry_after_s=5) from exc
        return Answer(session_id=session.id, sdp=session.answer)

    async def hang_up(self, space_id: str, session_id: str, me: Account) -> None:
        room = self.rooms.get(space_id)
        session: SpeakerSession | None = room.session_by_id(session_id) if room else None
        if room is None or session is None:
            raise NotFound("there is no such WHIP session (it may have ended already)")
        if session.account_id != me.id:
            raise Forbidden("only the speaker can end their own WHIP session")
        await room.disconnect(session.key)
