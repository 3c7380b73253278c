"""The media plane of one node: a Room per live Space, driven by the domain's events.

It listens to the ``spaces`` topic (a Space went live → open its room; ended → finalize it) and
to each room's ``space:<id>`` topic (left the stage or removed → hang up; muted → out of the
mix). WHIP offers are authorized against the store, not the event stream, so a speaker can
never connect on stale information.

Doors open (the pre-show): a scheduled Space with ``doors_open_minutes`` gets a timer here, set
at start-up and reset by every ``doors`` event, that opens its room at ``doors_open_at`` without
waiting for any request. That room loops the teaser (or the default hold audio) into the
program; when the Space goes live the *same* room becomes the live room (``Room.go_live``), so
listeners already seated keep the same playlist, media sequence and timeline.

Placement (issue 6): a room opens only on the node the Space is placed on (``Ownership``). Every
media node hears every lifecycle event and asks where the Space runs; the placement is claimed
atomically, so exactly one node opens the room and the others leave it be. A single node is a
cluster of one: every Space is placed on it. ``_keep_placed`` runs once a heartbeat: it moves
Spaces off dead nodes (failover), opens the rooms placed here that are not open (a Space
re-placed here by another node, or an event missed), and closes rooms placed elsewhere meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from majlis.cluster.ownership import Ownership
from majlis.domain.context import Context
from majlis.domain.errors import BadOffer, Conflict, Forbidden, NotFound, Overloaded
from majlis.domain.events import SPACES_TOPIC, space_topic
from majlis.domain.space_cache import SPACE_ID
from majlis.media import program_streams
from majlis.media.hls.shared import build_part_store
from majlis.media.hls.stream import LiveStream
from majlis.media.mixer import Pcm
from majlis.media.program import ProgramOutput
from majlis.media.program_streams import AAC, Streams
from majlis.media.room import Room
from majlis.media.teaser import BadTeaser, TeaserPlayer, decode_teaser, default_hold
from majlis.media.whip import NegotiationFailed, SpeakerSession
from majlis.seams.bus.protocol import Subscription
from majlis.seams.nodes.protocol import NoMediaNode
from majlis.security.grants import WhipGrants
from majlis.store.records import Account, Space
from majlis.types import JSON, SpaceState

log = logging.getLogger(__name__)
#: How long an ended Space's stream stays servable, so players fetch its ENDLIST.
ENDED_STREAM_GRACE_S = 60.0
#: A doors timer firing this early still opens the doors (timers and clocks are not exact).
DOORS_SLACK = timedelta(seconds=1)
#: Wall-clock budget for decoding a stored teaser (it decoded within this at upload already).
TEASER_DECODE_BUDGET_S = 30.0
#: Waits between attempts to subscribe again after the event bus dropped us (Redis restarted,
#: or a subscriber fell too far behind).
RESUBSCRIBE_MIN_S, RESUBSCRIBE_MAX_S = 0.1, 5.0
#: Every this many placement checks, the rooms are also matched against the store's live Spaces
#: (a Space that went live while no media node could take it is placed then).
CATCH_UP_EVERY = 10


@dataclass
class Answer:
    session_id: str
    sdp: str


class MediaPlane:
    def __init__(self, ctx: Context, ownership: Ownership | None = None) -> None:
        self._ctx = ctx
        #: Where Spaces run; None: this node runs every Space (no cluster at all).
        self.ownership = ownership
        #: Vouch for a WHIP caller across a redirect to another node (api/media.py).
        self.grants = WhipGrants(ctx.settings.resolved_secret())
        #: Where listeners' requests are served from: this node's streams, and (with Redis)
        #: every other node's, so any node answers any Space's playlists and parts.
        settings = ctx.settings
        self.parts = build_part_store(settings.redis_url, ctx.live.bus, settings.redis_prefix)
        self._keeper: asyncio.Task[None] | None = None
        #: Spaces that should run but no node could take (NoMediaNode): retried every check.
        self._unplaced: set[str] = set()
        self.rooms: dict[str, Room] = {}
        #: Ended Spaces' streams, kept servable for ENDED_STREAM_GRACE_S (every rendition).
        self._ended: dict[str, Streams] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._lifecycle: asyncio.Task[None] | None = None
        self._opening: dict[str, asyncio.Task[Room]] = {}
        #: Per scheduled Space with a pre-show: the timer that opens its doors.
        self._doors: dict[str, asyncio.TimerHandle] = {}
        self._background: set[asyncio.Task[None]] = set()
        #: Per Space, how many teaser changes arrived: a slow decode never undoes a newer one.
        self._teaser_changes: dict[str, int] = {}
        #: Set by ``stop``: from then on no doors timer, background work or room starts.
        self._stopping = False

    async def start(self) -> None:
        # Subscribed before reading the store, so no change falls between the two.
        subscription = await self._ctx.live.bus.subscribe([SPACES_TOPIC])
        await self._catch_up()
        self._lifecycle = asyncio.create_task(self._follow_lifecycle(subscription))
        if self.ownership is not None:
            self._keeper = asyncio.create_task(self._keep_placed_forever(), name="keep-placed")

    async def _owns(self, space_id: str) -> bool:
        """Whether this node runs ``space_id`` (placing it if nobody does yet)."""
        if self.ownership is None:
            return True
        try:
            owns = await self.ownership.owns(space_id)
        except NoMediaNode:
            log.warning("media: no media node can take Space %s yet; retrying", space_id)
            self._unplaced.add(space_id)
            return False
        self._unplaced.discard(space_id)
        return owns

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
        assert self.ownership is not None
        placement, me = self.ownership.placement, self.ownership.node_id
        for space_id, dead in (await placement.orphaned()).items():
            moved_to = await placement.replace(space_id, dead)
            log.warning("media: node %s is gone; Space %s moves to %s", dead, space_id, moved_to)
        mine = set(await placement.spaces_on(me))
        for space_id in sorted(mine - set(self.rooms)):
            await self._adopt(space_id)
        for space_id in [s for s in self.rooms if s not in mine and s not in self._opening]:
            if await placement.placement_of(space_id) is None and await self._owns(space_id):
                continue  # the placement lapsed (Redis was away for long): claimed again
            log.warning("media: Space %s was placed elsewhere; closing its room", space_id)
            await self.close_room(space_id, ended=False)
        for space_id in sorted(self._unplaced):
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
            self._unplaced.discard(space_id)
            if placed and self.ownership is not None:
                await self.ownership.placement.release(space_id)
            return
        if not placed and not await self._owns(space_id):
            return
        if space.state == "live":
            log.info("media: taking over live Space %s", space_id)
            room = await self.open_room(space.id, space.record)
            await room.go_live()
        else:
            await self._open_doors(space_id)

    async def _catch_up(self) -> None:
        """Make the rooms match the store: at start-up, and after the event bus came back
        (events published while it was away are lost, the store's state is not)."""
        live: set[str] = set()
        async for space in self._all_spaces("live"):
            live.add(space.id)
            if not await self._owns(space.id):
                continue
            room = await self.open_room(space.id, space.record)
            await room.go_live()
        async for space in self._all_spaces("scheduled"):
            self.plan_doors(space)
        for space_id in [s for s in self.rooms if s not in live]:
            latest = await self._ctx.store.space(space_id)
            if latest is None or latest.state == "ended":
                await self.close_room(space_id, ended=True)

    async def _all_spaces(self, state: SpaceState) -> AsyncIterator[Space]:
        cursor = None
        while True:
            page = await self._ctx.store.list_spaces(state, cursor, 100)
            for space in page.items:
                yield space
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def _subscribe(self, topics: list[str]) -> Subscription:
        """Subscribe, retrying with backoff while the bus (Redis) is unreachable."""
        delay = RESUBSCRIBE_MIN_S
        while True:
            try:
                return await self._ctx.live.bus.subscribe(topics)
            except Exception:
                log.warning("media plane: subscribing to %s failed; retrying", topics)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RESUBSCRIBE_MAX_S)

    async def stop(self) -> None:
        self._stopping = True
        for timer in self._doors.values():
            timer.cancel()
        self._doors.clear()
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        for task in list(self._background):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._lifecycle is not None:
            self._lifecycle.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lifecycle
        # A room still opening (a catch-up, an adoption, an offer) goes on opening, shielded from
        # the callers just cancelled: wait for it, so it is closed below. Left alone it opened
        # after the stop, its clock mixing and its watcher and part copier reaching Redis through
        # clients already closed: connections nobody closes, and the loop cannot close after them.
        await asyncio.gather(*self._opening.values(), return_exceptions=True)
        for space_id in list(self.rooms):
            await self.close_room(space_id, ended=False)
        await self.parts.aclose()

    async def _follow_lifecycle(self, subscription: Subscription) -> None:
        """Forever: the stream ends only when the bus lost its connection; then subscribe
        again and catch up from the store."""
        while True:
            try:
                async for item in subscription:
                    await self._on_lifecycle(item)
            except Exception:
                log.exception("media plane: the lifecycle stream failed")
            finally:
                with contextlib.suppress(Exception):
                    await subscription.close()
            log.warning("media plane: lifecycle events interrupted; catching up from the store")
            await asyncio.sleep(RESUBSCRIBE_MIN_S)
            subscription = await self._subscribe([SPACES_TOPIC])
            try:
                await self._catch_up()
            except Exception:
                log.exception("media plane: catching up after the interruption failed")

    async def _on_lifecycle(self, item: JSON) -> None:
        kind = item.get("type")
        try:
            if kind == "doors" or kind == "teaser":
                await self._on_preshow_change(item["space_id"], kind)
            if kind != "state":
                return
            self._cancel_doors(item["space_id"])
            if item.get("state") == "live":
                space = await self._ctx.store.space(item["space_id"])
                if space is not None and space.state == "live" and await self._owns(space.id):
                    room = await self.open_room(space.id, space.record)
                    await room.go_live()
            elif item.get("state") == "ended":
                self._unplaced.discard(item["space_id"])
                if item["space_id"] in self.rooms and self.ownership is not None:
                    await self.ownership.placement.release(item["space_id"])
                await self.close_room(item["space_id"], ended=True)
        except Exception:
            log.exception("media plane: handling %s failed", item)

    # --- doors open: the pre-show ------------------------------------------------------------

    def plan_doors(self, space: Space) -> None:
        """(Re)arm the timer that opens this Space's doors; open them now if the time has come."""
        self._cancel_doors(space.id)
        at = space.doors_open_at
        if self._stopping or space.state != "scheduled" or at is None or space.id in self.rooms:
            return
        delay = max(0.0, (at - self._ctx.now()).total_seconds())
        self._doors[space.id] = asyncio.get_running_loop().call_later(
            delay, self._doors_due, space.id
        )

    def _cancel_doors(self, space_id: str) -> None:
        timer = self._doors.pop(space_id, None)
        if timer is not None:
            timer.cancel()

    def _doors_due(self, space_id: str) -> None:
        self._in_background(self._open_doors(space_id))

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Decoding a teaser takes up to a second: never in the way of the lifecycle events."""
        if self._stopping:
            work.close()
            return
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _open_doors(self, space_id: str) -> None:
        self._doors.pop(space_id, None)
        try:
            space = await self._ctx.store.space(space_id)
            if space is None or space.state != "scheduled":
                return
            if not space.doors_open(self._ctx.now() + DOORS_SLACK):
                self.plan_doors(space)  # rescheduled meanwhile, or the timer fired early
                return
            if space_id not in self.rooms and not await self._owns(space_id):
                return  # another node opens these doors
            teaser = await self._teaser_pcm(space)
            room = await self.open_room(space.id, space.record, teaser=teaser)
            log.info("media: doors open for Space %s (teaser: %s)", space.id, space.has_teaser)
            # The Space may have started or ended while the room was opening, and that event
            # found no room to act on: settle with the store's word.
            latest = await self._ctx.store.space(space_id)
            if latest is None or latest.state == "ended":
                await self.close_room(space_id, ended=True)
            elif latest.state == "live":
                await room.go_live()
        except Exception:
            log.exception("media: opening the doors of Space %s failed", space_id)

    async def _on_preshow_change(self, space_id: str, kind: str) -> None:
        space = await self._ctx.store.space(space_id)
        if space is None:
            return
        if kind == "doors":
            self.plan_doors(space)
            return
        room = self.rooms.get(space_id)
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

    # --- rooms ----------------------------------------------------------------------------------

    async def open_room(self, space_id: str, record: bool, teaser: Pcm | None = None) -> Room:
        """The Space's room, opened if needed: live, or as a pre-show looping ``teaser``."""
        room = self.rooms.get(space_id)
        if room is not None:
            return room
        pending = self._opening.get(space_id)
        if pending is None:
            if self._stopping:
                raise Overloaded("this media node is stopping", retry_after_s=1)
            pending = asyncio.ensure_future(self._open(space_id, record, teaser))
            self._opening[space_id] = pending
            pending.add_done_callback(lambda _: self._opening.pop(space_id, None))
        return await asyncio.shield(pending)

    async def _open(self, space_id: str, record: bool, teaser: Pcm | None) -> Room:
        recording = self.recording_path(space_id) if record else None
        # A pre-show is not recorded: the replay starts when the show does (Room.go_live).
        continues = await program_streams.last_states(self.parts, space_id)
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
        self.rooms[space_id] = room
        program_streams.attach(self.parts, space_id, program.streams)
        self._watchers[space_id] = asyncio.create_task(self._watch(room))
        log.info("media: room open for Space %s (recording: %s)", space_id, bool(recording))
        return room

    @property
    def opening(self) -> frozenset[str]:
        """The Spaces whose rooms are being opened now (not yet in ``rooms``)."""
        return frozenset(self._opening)

    def recording_path(self, space_id: str) -> Path:
        return self._ctx.settings.data_dir / "recordings" / f"{space_id}.m4a"

    async def close_room(self, space_id: str, ended: bool) -> None:
        self._cancel_doors(space_id)
        self._teaser_changes.pop(space_id, None)
        room = self.rooms.pop(space_id, None)
        watcher = self._watchers.pop(space_id, None)
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if room is None:
            return
        if not ended:
            # Moved to another node, or this node stops: its ENDLIST must not reach listeners,
            # who continue with the next node's stream.
            program_streams.detach(self.parts, space_id, room.program.streams)
        await room.stop()
        if ended:
            streams = self._ended[space_id] = room.program.streams
            asyncio.get_running_loop().call_later(
                ENDED_STREAM_GRACE_S, self._forget_ended, space_id, streams
            )

    def _forget_ended(self, space_id: str, streams: Streams) -> None:
        if self._ended.get(space_id) is streams:
            del self._ended[space_id]
        program_streams.detach(self.parts, space_id, streams)

    async def _watch(self, room: Room) -> None:
        """The room's stage events, until the room closes (this task is cancelled then). After
        each (re)subscription the speakers are checked against the store: events published
        while the bus was away are lost.

        Whether the room is still open is also asked before each wait for an event, because the
        cancel can be lost: redis-py sends every command through ``asyncio.wait_for``, which on
        Python 3.11 swallows a cancel landing just as its inner await completes. A watcher that
        lost it while subscribing waited for events forever, and so did ``close_room``, and with
        it the lifecycle task that closes rooms: that node then applied no more teaser changes
        and left rooms to the catch-up."""
        while self.rooms.get(room.space_id) is room:
            subscription = await self._subscribe([space_topic(room.space_id)])
            try:
                await self._sync_stage(room)
                events = aiter(subscription)
                while self.rooms.get(room.space_id) is room:
                    item = await anext(events, None)
                    if item is None:
                        break  # the stream ended (the bus dropped us): subscribe again
                    kind = item.get("type")
                    handle = item.get("handle")
                    if not isinstance(handle, str):
                        continue
                    if kind == "removed" or (kind == "stage" and item.get("role") is None):
                        await room.disconnect(handle)
                    elif kind == "mute":
                        room.set_muted(handle, bool(item.get("muted")))
            except Exception:
                log.exception("media plane: the stage events of %s failed", room.space_id)
            finally:
                with contextlib.suppress(Exception):
                    await subscription.close()
            if self.rooms.get(room.space_id) is room:
                await asyncio.sleep(RESUBSCRIBE_MIN_S)

    async def _sync_stage(self, room: Room) -> None:
        space = await self._ctx.store.space(room.space_id)
        members = {} if space is None else {m.account.handle: m for m in space.stage}
        for handle in list(room.sessions):
            member = members.get(handle)
            if member is None:
                await room.disconnect(handle)
            else:
                room.set_muted(handle, member.muted)

    def stream(self, space_id: str) -> LiveStream | None:
        room = self.rooms.get(space_id)
        return room.stream if room is not None else self._ended.get(space_id, {}).get(AAC)

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
        await room.go_live()  # the Space is live (authorized): the pre-show, if any, is over
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
