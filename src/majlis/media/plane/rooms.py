"""The rooms of one node: opened once per Space however many ask at once, closed once.

Why one registry: the lifecycle events, the doors timers, the placement keeper and WHIP offers
all open and close rooms, sometimes for the same Space at the same moment. Opening is one task
per Space that every caller awaits (shielded: a cancelled caller does not cancel the opening),
and a room is listed only once it started, so nobody sees half a room.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from majlis.domain.context import Context
from majlis.domain.errors import Overloaded
from majlis.domain.events import space_topic
from majlis.media import program_streams
from majlis.media.mixer import Pcm
from majlis.media.plane.captions import Captions
from majlis.media.plane.sources import Sources
from majlis.media.plane.stage_events import follow_stage
from majlis.media.plane.tasks import cancel_and_wait
from majlis.media.program import ProgramOutput
from majlis.media.program_streams import AAC
from majlis.media.room import Room
from majlis.media.teaser import TeaserPlayer
from majlis.types import JSON

log = logging.getLogger(__name__)
#: How long an ended Space's stream stays servable, so players fetch its ENDLIST.
ENDED_STREAM_GRACE_S = 60.0


class Rooms:
    def __init__(
        self,
        ctx: Context,
        sources: Sources,
        recording_path: Callable[[str], Path],
        on_close: Callable[[str], None],
        captions: Captions | None = None,
    ) -> None:
        self._ctx = ctx
        self._sources = sources
        self._recording_path = recording_path
        #: Told first when a Space's room closes (its doors timer and teaser swaps are void).
        self._on_close = on_close
        self._captions = captions
        self._rooms: dict[str, Room] = {}
        self._opening: dict[str, asyncio.Task[Room]] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}
        #: Set by ``refuse_new``: from then on no room starts (the node is stopping).
        self.stopping = False

    @property
    def open(self) -> Mapping[str, Room]:
        """The open rooms by Space id (read-only)."""
        return self._rooms

    @property
    def opening(self) -> frozenset[str]:
        """The Spaces whose rooms are being opened now (not yet open)."""
        return frozenset(self._opening)

    def get(self, space_id: str) -> Room | None:
        return self._rooms.get(space_id)

    def __contains__(self, space_id: object) -> bool:
        return space_id in self._rooms

    async def open_room(self, space_id: str, record: bool, teaser: Pcm | None = None) -> Room:
        """The Space's room, opened if needed: live, or as a pre-show looping ``teaser``."""
        room = self._rooms.get(space_id)
        if room is not None:
            return room
        pending = self._opening.get(space_id)
        if pending is None:
            if self.stopping:
                raise Overloaded("this media node is stopping", retry_after_s=1)
            pending = asyncio.ensure_future(self._open(space_id, record, teaser))
            self._opening[space_id] = pending
            pending.add_done_callback(lambda _: self._opening.pop(space_id, None))
        return await asyncio.shield(pending)

    async def _open(self, space_id: str, record: bool, teaser: Pcm | None) -> Room:
        recording = self._recording_path(space_id) if record else None
        parts = self._sources.parts
        # A pre-show is not recorded: the replay starts when the show does (Room.go_live).
        continues = await program_streams.last_states(parts, space_id)
        if continues[AAC] is not None:
            log.warning("media: Space %s continues here after its node failed", space_id)
        program = ProgramOutput(recording, defer_recording=teaser is not None, continues=continues)

        async def publish(event: JSON) -> None:
            await self._ctx.live.bus.publish(space_topic(space_id), event)

        shared = self._ctx.settings.stage_encoding == "shared"
        player = TeaserPlayer(teaser) if teaser is not None else None
        room = Room(
            space_id,
            program,
            publish,
            shared_stage_encoding=shared,
            teaser=player,
            shared_speaking=self._ctx.live.speaking,
        )
        await room.start()
        self._rooms[space_id] = room
        program_streams.attach(parts, space_id, program.streams)
        self._sources.attached()
        self._watchers[space_id] = asyncio.create_task(
            follow_stage(self._ctx, room, lambda: self._rooms.get(space_id) is room, self._captions)
        )
        log.info("media: room open for Space %s (recording: %s)", space_id, bool(recording))
        if continues[AAC] is not None:
            # A failover: the stage's WebRTC connections died with the other node, and a
            # browser only notices after seconds of silence. Say so now: the stage offers
            # again at once (web client: space-events.js).
            await publish({"type": "moved", "space_id": space_id})
        return room

    async def close(self, space_id: str, ended: bool) -> None:
        self._on_close(space_id)
        room = self._rooms.pop(space_id, None)
        await cancel_and_wait(self._watchers.pop(space_id, None))
        if room is None:
            return
        parts, streams = self._sources.parts, room.program.streams
        if not ended:
            # Moved to another node, or this node stops: its ENDLIST must not reach listeners,
            # who continue with the next node's stream.
            program_streams.detach(parts, space_id, streams)
        else:
            await room.finish_captions()
        await room.stop()
        if ended:
            asyncio.get_running_loop().call_later(
                ENDED_STREAM_GRACE_S, program_streams.detach, parts, space_id, streams
            )

    def refuse_new(self) -> None:
        self.stopping = True

    async def close_all(self) -> None:
        """Close every room, those still opening included (after ``refuse_new``)."""
        # A room still opening (a catch-up, an adoption, an offer) goes on opening, shielded from
        # the callers just cancelled: wait for it, so it is closed below. Left alone it opened
        # after the stop, its clock mixing and its watcher and part copier reaching Redis through
        # clients already closed: connections nobody closes, and the loop cannot close after them.
        await asyncio.gather(*self._opening.values(), return_exceptions=True)
        for space_id in list(self._rooms):
            await self.close(space_id, ended=False)
