"""The audience path: join, heartbeat, snapshot, reactions and the Space's event stream.

DESIGN.md principle 1: listeners hold no per-listener state on the origin. Join and heartbeat
are a signed id and one presence increment; the snapshot is rendered at most once a second per
Space and is a shareable, cacheable response; reactions are counted and relayed to the event
stream as one aggregate per Space per second, however many people tap.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import orjson

from majlis.caching import TtlCache
from majlis.domain.context import Context
from majlis.domain.errors import Conflict, Forbidden, NotFound, RateLimited
from majlis.domain.events import event, space_topic
from majlis.domain.model import Account, Space
from majlis.domain.render import account_brief, cue_json, etag, link_json, member_json
from majlis.domain.shapes import AudienceOut, CueOut, JoinOut, SnapshotOut
from majlis.domain.space_cache import CachedSpace
from majlis.telemetry import HEARTBEATS, JOINS
from majlis.types import JSON

#: The reactions a listener can send; a fixed set keeps counters small and the UI predictable.
EMOJI = ("💜", "😂", "😲", "😢", "👏", "💯", "🔥", "🙏", "👋", "✊", "👍", "👎")
REACTION_RELAY_INTERVAL_S = 1.0
#: The snapshot's caption line: its last cues, if their words ended this recently.
CAPTION_LINES = 2
FRESH_CUE_S = 10.0
#: How long a node trusts the listener count it read (it picks what a joiner is given).
AUDIENCE_SIZE_TTL_S = 1.0
#: Spaces whose snapshot and audience size a node keeps at once (least recently used go first).
CACHED_SPACES = 10_000
#: How many people someone follows ``followed_listening`` names: a few avatars by the count.
FOLLOWED_SHOWN = 8
#: At most this many of the followed people present are ranked by when they were followed (one
#: SQL ``IN`` list); should more of the people someone follows be listening, the few shown are
#: the most recently followed of this many.
FOLLOWED_RANKED = 1_000


@dataclass(frozen=True)
class Snapshot:
    body: bytes
    etag: str


class Audience:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._snapshots: TtlCache[str, Snapshot] = TtlCache(
            ctx.settings.space_cache_ttl_s, CACHED_SPACES
        )
        self._sizes: TtlCache[str, int] = TtlCache(AUDIENCE_SIZE_TTL_S, CACHED_SPACES)
        self._pending_reactions: dict[str, Counter[str]] = {}

    async def _cached(self, space_id: str) -> CachedSpace:
        cached = await self._ctx.space_cache.get(space_id)
        if cached is None:
            raise NotFound(f"there is no Space {space_id!r}")
        return cached

    async def _live(self, space_id: str, me: Account | None) -> CachedSpace:
        cached = await self._cached(space_id)
        state = cached.space.state
        if state == "scheduled" and not cached.space.doors_open(self._ctx.now()):
            raise Conflict("the Space has not started yet (and its doors are not open)")
        if state == "ended":
            raise Conflict("the Space has ended")
        if me is not None and me.id in cached.banned:
            raise Forbidden("you were removed from this Space")
        return cached

    async def _limit_ip(self, action: str, ip: str, limit: int, period_s: float) -> None:
        """Per client address, on top of the per-account limits: a listener needs no account."""
        if not ip:
            return
        decision = await self._ctx.live.limiter.hit(f"{action}:ip:{ip}", limit, period_s)
        if not decision.allowed:
            raise RateLimited(
                f"too many {action}s from your address; try again shortly",
                retry_after_s=decision.retry_after_s,
            )

    async def join(self, space_id: str, me: Account | None, ip: str = "") -> JoinOut:
        await self._limit_ip("join", ip, self._ctx.settings.joins_per_ip_per_min, 60.0)
        cached = await self._live(space_id, me)
        ctx = self._ctx
        settings = ctx.settings
        size = await self._audience_size(cached.space.id)
        account_id = None if me is None else me.id
        listener_id = ctx.listener_ids.issue(cached.space.id, account_id)
        await ctx.live.presence.touch(cached.space.id, listener_id, account_id)
        JOINS.inc()
        base = f"/api/v1/spaces/{cached.space.id}"
        return {
            "listener_id": listener_id,
            "low_latency": size < settings.low_latency_max_listeners,
            "events": size < settings.events_max_listeners,
            "hls_url": settings.url(f"/hls/{cached.space.id}/live.m3u8"),
            "dash_url": settings.url(f"/dash/{cached.space.id}/live.mpd"),
            "snapshot_url": settings.url(f"{base}/snapshot"),
            "events_url": settings.url(f"{base}/events"),
            "heartbeat_url": settings.url(f"{base}/heartbeat?listener={listener_id}"),
            "heartbeat_interval_s": settings.heartbeat_interval_s,
        }

    async def _audience_size(self, space_id: str) -> int:
        """The Space's listener count, read at most once a second per Space, so that joins add
        no presence round trip. It decides what a joiner is given:

        - low latency only below ``low_latency_max_listeners``, an operator's cap that is off by
          default: low-latency DASH through a streaming edge costs about what segment-paced
          HLS does, so every listener gets ~1 s of latency (settings.low_latency_max_listeners);
        - the event stream only below ``events_max_listeners``: a stream is an open connection
          at an origin node per listener, which no edge can cache; past it listeners follow the
          snapshot, which the edges do."""
        return await self._sizes.get_or_load(
            space_id, lambda: self._ctx.live.presence.count(space_id)
        )

    async def heartbeat(self, space_id: str, listener_id: str, ip: str = "") -> None:
        await self._limit_ip("heartbeat", ip, self._ctx.settings.heartbeats_per_ip_per_min, 60.0)
        cached = await self._cached(space_id)
        listener = self._ctx.listener_ids.identify(cached.space.id, listener_id)
        if listener is None:
            raise NotFound("that listener id was not issued for this Space; join again")
        if not cached.space.audible(self._ctx.now()):
            raise Conflict(f"the Space is {cached.space.state}")
        # A signed-in listener's id carries their account (security/listener_ids.py): the
        # heartbeat needs no token to keep them present as themselves.
        await self._ctx.live.presence.touch(cached.space.id, listener_id, listener.account_id)
        HEARTBEATS.inc()

    async def followed_listening(self, me: Account, space_id: str) -> AudienceOut:
        """The listener count, and which of the people ``me`` follows are listening now as
        themselves (signed in), most recently followed first: what a Space page shows by the
        count, asked every ~15 s by each signed-in viewer.

        Why it costs little: the count is the one a join reads (at most once a second per Space
        per node); presence is asked only about the people ``me`` follows, in one round trip
        whatever the audience size; SQL is an index range of ``me``'s follows and, only when
        some of them are present, one query for at most ``FOLLOWED_SHOWN`` accounts."""
        cached = await self._cached(space_id)
        space = cached.space
        if not space.audible(self._ctx.now()):
            return {"listener_count": 0, "followed": []}
        store = self._ctx.store
        wanted = await store.followee_ids(me.id) - cached.banned - {me.id}
        present = await self._ctx.live.presence.accounts(space.id, wanted) if wanted else set()
        shown = (
            await store.followed_among(me.id, sorted(present)[:FOLLOWED_RANKED], FOLLOWED_SHOWN)
            if present
            else []
        )
        return {
            "listener_count": await self._audience_size(space.id),
            "followed": [account_brief(account) for account in shown],
        }

    async def snapshot(self, space_id: str) -> Snapshot:
        """The snapshot as it was at most ``space_cache_ttl_s`` ago, rendered once for every
        request that arrives while it is being rendered."""
        return await self._snapshots.get_or_load(space_id, lambda: self._render(space_id))

    async def _render(self, space_id: str) -> Snapshot:
        cached = await self._cached(space_id)
        space = cached.space
        live = space.audible(self._ctx.now())  # live, or doors open for the pre-show
        body = orjson.dumps(
            SnapshotOut(
                id=space.id,
                title=space.title,
                state=space.state,
                stage=[member_json(m) for m in space.stage],
                speaking=list(await self._ctx.live.speaking.current(space.id)) if live else [],
                listener_count=await self._ctx.live.presence.count(space.id) if live else 0,
                reactions=await self._ctx.live.counters.recent(space.id) if live else {},
                link=link_json(space),
                captions=await self._fresh_cues(space) if live else [],
            )
        )
        return Snapshot(body=body, etag=etag(body))

    async def _fresh_cues(self, space: Space) -> list[CueOut]:
        """The last cues whose words ended within ``FRESH_CUE_S``: a page that polls the
        snapshot shows them on its caption line (an older one would be a caption out of time)."""
        if not space.captions or space.started_at is None:
            return []
        now = (self._ctx.now() - space.started_at).total_seconds()
        cues = await self._ctx.store.latest_cues(space.id, CAPTION_LINES)
        return [cue_json(cue) for cue in cues if now - cue.end <= FRESH_CUE_S]

    async def react(self, me: Account, space_id: str, emoji: str, ip: str = "") -> None:
        await self._limit_ip("reaction", ip, self._ctx.settings.reactions_per_ip_per_10s, 10.0)
        cached = await self._live(space_id, me)
        decision = await self._ctx.live.limiter.hit(
            f"react:{me.id}", self._ctx.settings.reactions_per_account_per_10s, 10.0
        )
        if not decision.allowed:
            raise RateLimited("slow down on the reactions", retry_after_s=decision.retry_after_s)
        await self._ctx.live.counters.add(cached.space.id, emoji)
        self._pending_reactions.setdefault(cached.space.id, Counter())[emoji] += 1

    async def relay_reactions_forever(self) -> None:
        """Publish each Space's reactions as one aggregate event per interval."""
        while True:
            await asyncio.sleep(REACTION_RELAY_INTERVAL_S)
            await self.relay_reactions_once()

    async def relay_reactions_once(self) -> None:
        pending, self._pending_reactions = self._pending_reactions, {}
        for space_id, counts in pending.items():
            await self._ctx.live.bus.publish(
                space_topic(space_id), event("reactions", space_id=space_id, counts=dict(counts))
            )

    async def events(self, space_id: str) -> AsyncIterator[JSON]:
        """The Space's public events, starting with a snapshot; ends when the Space ends."""
        cached = await self._cached(space_id)
        subscription = await self._ctx.live.bus.subscribe([space_topic(cached.space.id)])
        try:
            snapshot = await self.snapshot(space_id)
            yield event("snapshot", **orjson.loads(snapshot.body))
            if cached.space.state == "ended":
                return
            async for item in subscription:
                yield item
                if item.get("type") == "state" and item.get("state") == "ended":
                    return
        finally:
            with contextlib.suppress(Exception):
                await subscription.close()
