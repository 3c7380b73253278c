"""Spaces: create (now or scheduled), start, end, list, feeds and reminders."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from majlis.domain.context import Context
from majlis.domain.errors import Conflict, Forbidden, Invalid, NotFound
from majlis.domain.events import SPACES_TOPIC, account_topic, event, space_topic
from majlis.domain.render import account_brief, iso, space_json
from majlis.domain.space_cache import SPACE_ID
from majlis.store.protocol import StoreConflict
from majlis.store.records import Account, Page, Space
from majlis.types import JSON, SpaceState

MAX_SCHEDULE_AHEAD = timedelta(days=14)
MAX_SCHEDULED_PER_HOST = 20
FEED_LIMIT = 50


def new_space_id() -> str:
    return secrets.token_urlsafe(9)


def store_conflict(exc: StoreConflict) -> Exception:
    """The status a store-level refusal deserves: banned is 403, gone is 404, else 409."""
    if exc.reason == "removed":
        return Forbidden("you were removed from this Space")
    if exc.reason == "not_found":
        return NotFound("there is no such Space")
    return Conflict(exc.detail)


class Spaces:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def get(self, space_id: str) -> Space:
        space = await self._ctx.store.space(space_id) if SPACE_ID.fullmatch(space_id) else None
        if space is None:
            raise NotFound(f"there is no Space {space_id!r}")
        return space

    async def to_json(self, space: Space) -> JSON:
        count = await self._ctx.live.presence.count(space.id) if space.state == "live" else 0
        return space_json(self._ctx.settings, space, count)

    async def many_to_json(self, spaces: list[Space]) -> list[JSON]:
        live_ids = [s.id for s in spaces if s.state == "live"]
        counts = await self._ctx.live.presence.counts(live_ids) if live_ids else {}
        return [space_json(self._ctx.settings, s, counts.get(s.id, 0)) for s in spaces]

    async def create(
        self, host: Account, title: str, scheduled_start: datetime | None, record: bool
    ) -> Space:
        now = self._ctx.now()
        store = self._ctx.store
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
            new_space_id(), host.id, title, state, scheduled_start, record, now
        )
        if state == "live":
            await self._announce(space)
        return space

    async def start(self, me: Account, space_id: str) -> Space:
        space = await self._hosted(me, space_id, "start")
        if space.state != "scheduled":
            raise Conflict(f"the Space is {space.state}; only a scheduled Space can start")
        await self._ensure_not_hosting(me)
        space = await self._transition(space_id, ("scheduled",), "live")
        await self._announce(space)
        return space

    async def end(self, me: Account, space_id: str) -> Space:
        space = await self._hosted(me, space_id, "end")
        if space.state == "ended":
            raise Conflict("the Space has already ended")
        space = await self._transition(space_id, ("scheduled", "live"), "ended")
        payload = event("state", space_id=space.id, state="ended", at=iso(space.ended_at))
        await self._ctx.live.bus.publish(space_topic(space.id), payload)
        await self._ctx.live.bus.publish(SPACES_TOPIC, {**payload, "host_id": space.host.id})
        await self._ctx.live.presence.forget(space.id)
        await self._ctx.live.counters.forget(space.id)
        return space

    async def page(self, state: SpaceState | None, cursor: str | None, limit: int) -> Page[Space]:
        return await self._ctx.store.list_spaces(state, cursor, limit)

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

    async def unremind(self, me: Account, space_id: str) -> None:
        await self.get(space_id)
        if await self._ctx.store.delete_reminder(space_id, me.id):
            await self._ctx.live.bus.publish(
                account_topic(me.id), event("reminder", space_id=space_id)
            )

    async def _hosted(self, me: Account, space_id: str, verb: str) -> Space:
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
        try:
            space = await self._ctx.store.transition(space_id, allowed, to, self._ctx.now())
        except StoreConflict as exc:
            raise store_conflict(exc) from exc
        finally:
            self._ctx.space_cache.invalidate(space_id)
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
