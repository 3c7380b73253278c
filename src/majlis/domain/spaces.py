"""Spaces: create (now or scheduled), start, end, list, feeds and reminders; the pre-show
(doors open before a scheduled start, with the host's teaser)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Protocol

from majlis.domain.context import Context
from majlis.domain.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Overloaded,
    TooLarge,
    UnsupportedMediaType,
)
from majlis.domain.events import SPACES_TOPIC, account_topic, event, space_topic
from majlis.domain.model import Account, Page, Space, Teaser
from majlis.domain.render import account_brief, iso, space_json
from majlis.domain.shapes import SpaceOut
from majlis.domain.space_cache import SPACE_ID
from majlis.domain.store import StoreConflict
from majlis.types import SpaceState

MAX_SCHEDULE_AHEAD = timedelta(days=14)
MAX_SCHEDULED_PER_HOST = 20
FEED_LIMIT = 50
#: Teaser uploads decoded at once on a node; more answer 503 (decoding is CPU in a thread).
TEASER_DECODES = 2


def new_space_id() -> str:
    return secrets.token_urlsafe(9)


def store_conflict(exc: StoreConflict) -> Exception:
    """The status a store-level refusal deserves: banned is 403, gone is 404, else 409."""
    if exc.reason == "removed":
        return Forbidden("you were removed from this Space")
    if exc.reason == "not_found":
        return NotFound("there is no such Space")
    return Conflict(exc.detail)


class TeaserProbe(Protocol):
    """What the domain needs of audio it cannot read itself: which types it may be sent as, and
    how long an upload plays (media/teaser.py decodes it). The domain stays free of codecs."""

    types: frozenset[str]

    def duration_ms(self, audio: bytes, max_s: float, budget_s: float) -> int:
        """Milliseconds the audio plays; ValueError (saying why) if it is not playable audio.
        Blocking: called in a thread."""
        ...


class Spaces:
    def __init__(self, ctx: Context, teasers: TeaserProbe) -> None:
        self._ctx = ctx
        self._teasers = teasers
        self._decodes = asyncio.Semaphore(TEASER_DECODES)

    async def get(self, space_id: str) -> Space:
        space = await self._ctx.store.space(space_id) if SPACE_ID.fullmatch(space_id) else None
        if space is None:
            raise NotFound(f"there is no Space {space_id!r}")
        return space

    async def to_json(self, space: Space) -> SpaceOut:
        now = self._ctx.now()
        audible = space.audible(now)
        count = await self._ctx.live.presence.count(space.id) if audible else 0
        return space_json(self._ctx.settings, space, count, now)

    async def many_to_json(self, spaces: list[Space]) -> list[SpaceOut]:
        now = self._ctx.now()
        live_ids = [s.id for s in spaces if s.audible(now)]
        counts = await self._ctx.live.presence.counts(live_ids) if live_ids else {}
        return [space_json(self._ctx.settings, s, counts.get(s.id, 0), now) for s in spaces]

    async def create(
        self,
        host: Account,
        title: str,
        scheduled_start: datetime | None,
        record: bool,
        doors_open_minutes: int = 0,
    ) -> Space:
        now = self._ctx.now()
        store = self._ctx.store
        if doors_open_minutes and scheduled_start is None:
            raise Invalid("doors_open_minutes needs a scheduled_start (doors open before it)")
        if scheduled_start is not None:
            if scheduled_start <= now:
                raise Invalid("scheduled_start must be in the future")
            if scheduled_start > now + MAX_SCHEDULE_AHEAD:
                raise Invalid("scheduled_start may be at most 14 days ahead")
            if await store.count_spaces_of_host(host.id, "scheduled") >= MAX_SCHEDULED_PER_HOST:
                raise Conflict(f"you already have {MAX_SCHEDULED_PER_HOST} scheduled Spaces")
            state: SpaceState = "scheduled"
        else:
            await self._ensure_not_hosting(host)
            state = "live"
        space = await store.create_space(
            new_space_id(),
            host.id,
            title,
            state,
            scheduled_start,
            record,
            now,
            doors_open_minutes,
            captions=self._ctx.settings.captions_default,
        )
        if state == "live":
            await self._announce(space)
        elif space.doors_open_at is not None:
            await self._announce_preshow(space, "doors")
        return space

    async def set_doors_open(self, me: Account, space_id: str, minutes: int) -> Space:
        """Host only, while scheduled; doors already open stay open until the start or end."""
        space = await self.hosted(me, space_id, "change")
        if space.state != "scheduled":
            raise Conflict(f"the Space is {space.state}; doors open only before the start")
        if space.doors_open(self._ctx.now()):
            raise Conflict("the doors are already open; they stay open until the Space starts")
        with self._writing(space_id):
            space = await self._ctx.store.set_doors_open(space_id, minutes)
        await self._announce_preshow(space, "doors")
        return space

    async def put_teaser(
        self, me: Account, space_id: str, content_type: str, audio: bytes
    ) -> Space:
        """Replace the pre-show teaser: checked (type, size, role, state), then decoded once
        here so garbage is refused now with a reason, not discovered when the doors open."""
        settings = self._ctx.settings
        if content_type not in self._teasers.types:
            accepted = ", ".join(sorted(self._teasers.types))
            raise UnsupportedMediaType(f"send the teaser as one of: {accepted}")
        if len(audio) > settings.teaser_max_bytes:
            raise TooLarge(f"the teaser must be at most {settings.teaser_max_bytes} bytes")
        await self._teaser_editable(me, space_id)
        if not audio:
            raise Invalid("the teaser is empty")
        if self._decodes.locked():
            raise Overloaded("other teasers are being decoded; try again shortly", retry_after_s=2)
        async with self._decodes:
            try:
                duration_ms = await asyncio.to_thread(
                    self._teasers.duration_ms,
                    audio,
                    settings.teaser_max_s,
                    settings.teaser_decode_budget_s,
                )
            except ValueError as exc:
                raise Invalid(f"the teaser is not playable audio: {exc}") from exc
        teaser = Teaser(content_type, audio, duration_ms, self._ctx.now())
        with self._writing(space_id):
            space = await self._ctx.store.put_teaser(space_id, teaser)
        await self._announce_preshow(space, "teaser")
        return space

    async def delete_teaser(self, me: Account, space_id: str) -> None:
        """Back to the default hold audio."""
        await self._teaser_editable(me, space_id)
        if await self._ctx.store.delete_teaser(space_id):
            self._ctx.space_cache.invalidate(space_id)
            await self._announce_preshow(await self.get(space_id), "teaser")

    async def _teaser_editable(self, me: Account, space_id: str) -> Space:
        space = await self.get(space_id)
        member = space.member(me.id)
        if member is None or member.role not in ("host", "cohost"):
            raise Forbidden("only the host or a cohost can change the teaser")
        if space.state != "scheduled":
            raise Conflict(f"the Space is {space.state}; the teaser plays only before the start")
        return space

    async def _announce_preshow(self, space: Space, kind: str) -> None:
        """``doors`` (the schedule changed) or ``teaser`` (the audio changed): the media plane
        re-arms its doors timer or swaps the loop; the Space's event stream shows it too."""
        payload = event(
            kind,
            space_id=space.id,
            doors_open_at=iso(space.doors_open_at),
            teaser="custom" if space.has_teaser else "default",
        )
        await self._ctx.live.bus.publish(space_topic(space.id), payload)
        await self._ctx.live.bus.publish(SPACES_TOPIC, payload)

    async def start(self, me: Account, space_id: str) -> Space:
        space = await self.hosted(me, space_id, "start")
        if space.state != "scheduled":
            raise Conflict(f"the Space is {space.state}; only a scheduled Space can start")
        await self._ensure_not_hosting(me)
        space = await self._transition(space_id, ("scheduled",), "live")
        await self._announce(space)
        return space

    async def end(self, me: Account, space_id: str) -> Space:
        space = await self.hosted(me, space_id, "end")
        if space.state == "ended":
            raise Conflict("the Space has already ended")
        return await self._end(space_id, ("scheduled", "live"))

    async def end_abandoned(self, space_id: str) -> None:
        """End a live Space nobody has been on the stage of for long (media/plane/abandoned.py),
        as its host would; a Space that ended meanwhile is left alone (Conflict)."""
        await self._end(space_id, ("live",))

    async def _end(self, space_id: str, states: tuple[SpaceState, ...]) -> Space:
        space = await self._transition(space_id, states, "ended")
        payload = event("state", space_id=space.id, state="ended", at=iso(space.ended_at))
        await self._ctx.live.bus.publish(space_topic(space.id), payload)
        await self._ctx.live.bus.publish(SPACES_TOPIC, {**payload, "host_id": space.host.id})
        await self._ctx.live.presence.forget(space.id)
        await self._ctx.live.counters.forget(space.id)
        return space

    async def page(
        self, state: SpaceState | None, cursor: str | None, limit: int, host: Account | None = None
    ) -> Page[Space]:
        """A page of Spaces, all or one host's (a profile lists them; the first page of all
        Spaces would miss a host's on a busy server)."""
        host_id = None if host is None else host.id
        return await self._ctx.store.list_spaces(state, cursor, limit, host_id)

    async def live_feed(self, me: Account) -> list[Space]:
        return await self._ctx.store.live_feed(me.id, FEED_LIMIT)

    async def upcoming_feed(self, me: Account) -> list[Space]:
        return await self._ctx.store.upcoming_feed(me.id, FEED_LIMIT)

    async def remind(self, me: Account, space_id: str) -> None:
        await self.get(space_id)
        try:
            await self._ctx.store.add_reminder(space_id, me.id, self._ctx.now())
        except StoreConflict as exc:
            raise store_conflict(exc) from exc
        await self._ctx.live.bus.publish(account_topic(me.id), event("reminder", space_id=space_id))

    async def reminded(self, me: Account, space_id: str) -> bool:
        await self.get(space_id)
        return space_id in await self._ctx.store.reminder_space_ids(me.id)

    async def unremind(self, me: Account, space_id: str) -> None:
        await self.get(space_id)
        if await self._ctx.store.delete_reminder(space_id, me.id):
            await self._ctx.live.bus.publish(
                account_topic(me.id), event("reminder", space_id=space_id)
            )

    @contextlib.contextmanager
    def _writing(self, space_id: str) -> Iterator[None]:
        """Around a store write to a Space: a refusal becomes its problem (403/404/409), and
        the cached copy is dropped whatever happened (a write that raised may have committed)."""
        try:
            yield
        except StoreConflict as exc:
            raise store_conflict(exc) from exc
        finally:
            self._ctx.space_cache.invalidate(space_id)

    async def hosted(self, me: Account, space_id: str, verb: str) -> Space:
        space = await self.get(space_id)
        if space.host.id != me.id:
            raise Forbidden(f"only the host can {verb} this Space")
        return space

    async def _ensure_not_hosting(self, host: Account) -> None:
        if await self._ctx.store.count_spaces_of_host(host.id, "live") > 0:
            raise Conflict("you are already hosting a live Space; end it first")

    async def _transition(
        self, space_id: str, allowed: tuple[SpaceState, ...], to: SpaceState
    ) -> Space:
        with self._writing(space_id):
            space = await self._ctx.store.transition(space_id, allowed, to, self._ctx.now())
        return space

    async def _announce(self, space: Space) -> None:
        """One event, whatever the audience: followers' notices are derived from it on read."""
        payload = event(
            "state",
            space_id=space.id,
            state="live",
            at=iso(space.started_at),
            space={"id": space.id, "title": space.title},
            host=account_brief(space.host),
            host_id=space.host.id,
        )
        await self._ctx.live.bus.publish(space_topic(space.id), payload)
        await self._ctx.live.bus.publish(SPACES_TOPIC, payload)
