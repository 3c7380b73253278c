"""Notifications: the inbox (stored personal notices merged with ones derived on read) and its
live stream.

Why derived: "a host you follow went live" and "a Space you asked to be reminded of started" are
computed from follows and reminders when read, so going live costs O(1) writes however many
followers the host has. The live stream gets the same notices by listening to the ``spaces``
lifecycle topic and filtering with the reader's follows and reminders, loaded once per stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from majlis.domain.context import Context
from majlis.domain.events import SESSION_ENDED, SPACES_TOPIC, account_topic, event
from majlis.domain.model import Account, Notification, Page, Space, SpaceRef
from majlis.domain.render import notification_json
from majlis.domain.shapes import NotificationOut
from majlis.types import JSON


def space_ref(space: Space) -> SpaceRef:
    return SpaceRef(id=space.id, title=space.title, state=space.state)


class Notices:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def deliver(
        self, recipient_id: int, kind: str, space: Space | None, actor: Account | None
    ) -> None:
        now = self._ctx.now()
        row_id = await self._ctx.store.add_notification(
            recipient_id,
            kind,
            None if space is None else space.id,
            None if actor is None else actor.id,
            now,
        )
        notice = Notification(
            id=f"n{row_id}",
            kind=kind,
            created_at=now,
            space=None if space is None else space_ref(space),
            actor=actor,
        )
        await self._ctx.live.bus.publish(
            account_topic(recipient_id), event("notification", notice=notification_json(notice))
        )

    async def inbox(self, me: Account, cursor: str | None, limit: int) -> Page[Notification]:
        return await self._ctx.store.notifications(me.id, cursor, limit)

    async def seen_at(self, me: Account) -> datetime | None:
        return await self._ctx.store.notifications_seen_at(me.id)

    async def mark_seen(self, me: Account, up_to: datetime) -> datetime:
        """Notices up to ``up_to`` (the newest one a device showed) are seen, on every device.
        Never past now: a clock ahead would otherwise hide notices that have not come yet."""
        return await self._ctx.store.mark_notifications_seen(me.id, min(up_to, self._ctx.now()))

    async def stream(self, me: Account, session_id: str = "") -> AsyncIterator[NotificationOut]:
        """Notices for ``me`` as they happen, each shaped like an inbox item, until the session
        ``session_id`` that opened the stream ends (on whichever node it is ended)."""
        bus = self._ctx.live.bus
        subscription = await bus.subscribe([account_topic(me.id), SPACES_TOPIC])
        try:
            followees = await self._ctx.store.followee_ids(me.id)
            reminded = await self._ctx.store.reminder_space_ids(me.id)
            async for item in subscription:
                kind = item.get("type")
                if kind == "notification":
                    yield item["notice"]
                elif kind == SESSION_ENDED and item.get("session") == session_id:
                    return
                elif kind == "following":
                    followees = await self._ctx.store.followee_ids(me.id)
                elif kind == "reminder":
                    reminded = await self._ctx.store.reminder_space_ids(me.id)
                elif kind == "state" and item.get("state") == "live":
                    notice = _derived_live_notice(item, me.id, followees, reminded)
                    if notice is not None:
                        yield notice
        finally:
            await subscription.close()


def _derived_live_notice(
    item: JSON, me_id: int, followees: frozenset[int], reminded: frozenset[str]
) -> NotificationOut | None:
    space = item["space"]
    host_id = item["host_id"]
    if host_id == me_id:
        return None
    if space["id"] in reminded:
        kind = "reminder"
    elif host_id in followees:
        kind = "live"
    else:
        return None
    notice = Notification(
        id=f"{kind}-{space['id']}",
        kind=kind,
        created_at=datetime.fromisoformat(item["at"]),
        space=SpaceRef(id=space["id"], title=space["title"], state="live"),
        actor=None,
    )
    rendered = notification_json(notice)
    rendered["actor"] = item["host"]
    return rendered
