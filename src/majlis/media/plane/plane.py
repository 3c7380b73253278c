"""The media plane of one node: a Room per live Space, driven by the domain's events.

This class only wires the parts and is the one interface the rest of the node uses (the HTTP
routes, the heartbeat, the services): each part is one concept in its own module.

- ``rooms``: the registry, opening each Space's room once and closing it once;
- ``lifecycle``: the ``spaces`` topic and the catch-up from the store;
- ``doors``: the pre-show timers and teasers;
- ``claims`` and ``placement``: whether this node runs a Space, and the failover loop;
- ``stage_events``: each room's ``space:<id>`` topic (hang-ups, mutes);
- ``abandoned``: live Spaces nobody has been on the stage of for long end themselves;
- ``whip_gate``: who may speak, and which node answers the offer;
- ``sources`` and ``recordings``: what listeners are served, live or replayed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from majlis.cluster.ownership import Ownership
from majlis.domain.context import Context
from majlis.domain.model import Account, Space
from majlis.media.captions.pool import RecognitionPool
from majlis.media.hls.parts.protocol import HlsSource, PartStore
from majlis.media.hls.vod import SegmentRange
from majlis.media.plane.abandoned import AbandonedSpaces, EndSpace
from majlis.media.plane.captions import Captions
from majlis.media.plane.claims import Claims
from majlis.media.plane.doors import Doors
from majlis.media.plane.lifecycle import Lifecycle
from majlis.media.plane.placement import PlacementKeeper
from majlis.media.plane.recordings import Recordings
from majlis.media.plane.rooms import Rooms
from majlis.media.plane.sources import Sources
from majlis.media.plane.whip_gate import Answer, WhipGate
from majlis.media.program_streams import AAC, stream_key
from majlis.media.room import Room
from majlis.security.grants import Vouched


class MediaPlane:
    def __init__(
        self,
        ctx: Context,
        parts: PartStore,
        ownership: Ownership | None = None,
        end_space: EndSpace | None = None,
        recognition: RecognitionPool | None = None,
    ) -> None:
        """``parts`` is where listeners' requests are served from: this node's streams, and
        (with Redis) every other node's, so any node answers any Space's playlists and parts.
        ``end_space`` ends a Space as its host would: the plane ends abandoned ones with it.
        ``recognition`` stands in for the captions' recognizer process (tests)."""
        settings = ctx.settings
        self._sources = Sources(parts, ctx.live.bus, shared=bool(settings.redis_url))
        self._recordings = Recordings(settings.data_dir)
        self._claims = Claims(ownership, clustered=bool(settings.redis_url))
        #: Captions, on nodes that run rooms (the model is checked now, loaded when first used).
        self.captions = Captions(ctx, recognition) if settings.runs_media else None
        self._rooms = Rooms(
            ctx, self._sources, self._recordings.path, self._room_closing, self.captions
        )
        self._doors = Doors(ctx, self._rooms, self._claims)
        self._lifecycle = Lifecycle(ctx, self._rooms, self._doors, self._claims)
        self._keeper = (
            None
            if ownership is None
            else PlacementKeeper(
                ctx, ownership, self._claims, self._rooms, self._doors, self._lifecycle.catch_up
            )
        )
        self._whip = WhipGate(ctx, self._rooms, ownership)
        after_s = settings.abandoned_space_end_s
        self._abandoned = (
            AbandonedSpaces(self._rooms, end_space, after_s)
            if end_space is not None and after_s > 0
            else None
        )

    def _room_closing(self, space_id: str) -> None:
        self._doors.forget(space_id)

    async def start(self) -> None:
        await self._lifecycle.start()
        if self._keeper is not None:
            self._keeper.start()
        if self._abandoned is not None:
            self._abandoned.start()

    async def stop(self) -> None:
        self._rooms.refuse_new()
        if self._abandoned is not None:
            await self._abandoned.stop()
        await self._doors.stop()
        if self._keeper is not None:
            await self._keeper.stop()
        await self._lifecycle.stop()
        await self._rooms.close_all()
        await self._sources.aclose()
        if self.captions is not None:
            self.captions.close()

    # --- for the node (heartbeat, metrics) and tests --------------------------------------------

    @property
    def rooms(self) -> Mapping[str, Room]:
        """The open rooms by Space id (read-only; tests look inside a room)."""
        return self._rooms.open

    def live_space_ids(self) -> list[str]:
        """The Spaces whose rooms run on this node (the listener gauges are kept for these)."""
        return list(self._rooms.open)

    def load(self) -> tuple[int, int]:
        """(live Spaces, connected speakers) on this node: what its heartbeat reports."""
        rooms = list(self._rooms.open.values())
        return len(rooms), sum(len(room.sessions) for room in rooms)

    @property
    def abandoned(self) -> AbandonedSpaces | None:
        """The watch that ends Spaces nobody is on the stage of (None when switched off)."""
        return self._abandoned

    @property
    def opening(self) -> frozenset[str]:
        """The Spaces whose rooms are being opened now (not yet in ``rooms``)."""
        return self._rooms.opening

    @property
    def parts(self) -> PartStore:
        return self._sources.parts

    async def keep_placed(self) -> None:
        """One placement check: failover, adopt, let go (placement.py)."""
        assert self._keeper is not None
        await self._keeper.keep_placed()

    # --- for the HTTP routes: WHIP ----------------------------------------------------------------

    async def authorize(self, space_id: str, me: Account) -> Space:
        return await self._whip.authorize(space_id, me)

    async def offer(self, space: Space, me: Account, sdp: str, auth_session: str = "") -> Answer:
        return await self._whip.offer(space, me, sdp, auth_session)

    async def hang_up(self, space_id: str, session_id: str, me: Account) -> None:
        await self._whip.hang_up(space_id, session_id, me)

    async def offer_elsewhere(self, space_id: str) -> str | None:
        return await self._whip.offer_elsewhere(space_id)

    async def hang_up_elsewhere(self, space_id: str) -> str | None:
        return await self._whip.hang_up_elsewhere(space_id)

    def grant(self, space_id: str, handle: str, auth_session: str) -> str:
        return self._whip.grant(space_id, handle, auth_session)

    def granted(self, space_id: str, grant: str) -> Vouched | None:
        return self._whip.granted(space_id, grant)

    # --- for the HTTP routes: listeners -----------------------------------------------------------

    async def source(self, space_id: str, rendition: str = AAC) -> HlsSource | None:
        """The live stream of ``rendition``, from whichever node runs the Space."""
        return await self._sources.source(stream_key(space_id, rendition))

    async def source_within(
        self, space_id: str, rendition: str, timeout_s: float
    ) -> HlsSource | None:
        """The live stream, waiting up to ``timeout_s`` for it to appear (sources.py)."""
        return await self._sources.within(stream_key(space_id, rendition), timeout_s)

    async def recording(self, space_id: str) -> Path | None:
        return await self._recordings.find(space_id)

    async def replay_segments(self, space_id: str) -> list[SegmentRange] | None:
        return await self._recordings.segments(space_id)
