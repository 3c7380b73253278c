"""Reminders and the notification inbox: stored notices merged with derived ones."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, delete, exists, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from majlis.domain.model import Account, Notification, Page, SpaceRef
from majlis.domain.store import StoreConflict
from majlis.store import tables as t
from majlis.store.cursors import decode_cursor, encode_cursor
from majlis.store.sql.engine import SqlEngine
from majlis.store.sql.rows import has_row


class NoticeQueries(SqlEngine):
    """Only personal notices are rows; "went live" and "reminder" are derived on read."""

    async def add_reminder(self, space_id: str, account_id: int, now: datetime) -> None:
        async with self._write() as conn:
            state = await self._lock_space(conn, space_id)
            if state != "scheduled":
                raise StoreConflict(
                    "state", f"the Space is {state}; reminders are for scheduled Spaces"
                )
            if await has_row(conn, t.reminders, space_id, account_id):
                return
            await conn.execute(
                insert(t.reminders).values(space_id=space_id, account_id=account_id, created_at=now)
            )

    async def delete_reminder(self, space_id: str, account_id: int) -> bool:
        async with self._write() as conn:
            result = await conn.execute(
                delete(t.reminders).where(
                    t.reminders.c.space_id == space_id, t.reminders.c.account_id == account_id
                )
            )
        return result.rowcount > 0

    async def reminder_space_ids(self, account_id: int) -> frozenset[str]:
        query = select(t.reminders.c.space_id).where(t.reminders.c.account_id == account_id)
        async with self._read() as conn:
            return frozenset((await conn.execute(query)).scalars())

    async def add_notification(
        self,
        account_id: int,
        kind: str,
        space_id: str | None,
        actor_id: int | None,
        now: datetime,
    ) -> int:
        async with self._write() as conn:
            result = await conn.execute(
                insert(t.notifications)
                .values(
                    account_id=account_id,
                    kind=kind,
                    space_id=space_id,
                    actor_id=actor_id,
                    created_at=now,
                )
                .returning(t.notifications.c.id)
            )
            return int(result.scalar_one())

    async def notifications_seen_at(self, account_id: int) -> datetime | None:
        query = select(t.accounts.c.notifications_seen_at).where(t.accounts.c.id == account_id)
        async with self._read() as conn:
            seen: datetime | None = (await conn.execute(query)).scalar_one_or_none()
        return seen

    async def mark_notifications_seen(self, account_id: int, up_to: datetime) -> datetime:
        """Move the mark forward, never back: two devices marking out of order keep the later."""
        seen = t.accounts.c.notifications_seen_at
        async with self._write() as conn:
            await conn.execute(
                update(t.accounts)
                .where(t.accounts.c.id == account_id, or_(seen.is_(None), seen < up_to))
                .values(notifications_seen_at=up_to)
            )
            query = select(seen).where(t.accounts.c.id == account_id)
            stored: datetime = (await conn.execute(query)).scalar_one()
        return stored

    async def notifications(
        self, account_id: int, cursor: str | None, limit: int
    ) -> Page[Notification]:
        """Merge stored notices with ones derived from follows and reminders, newest first."""
        before = decode_cursor(cursor)[0] if cursor is not None else None
        async with self._read() as conn:
            merged = [
                *await self._stored_notices(conn, account_id, before, limit + 1),
                *await self._derived_notices(conn, account_id, before, limit + 1),
            ]
        merged.sort(key=lambda n: (n.created_at, n.id), reverse=True)
        next_cursor = None
        if len(merged) > limit:
            merged = merged[:limit]
            next_cursor = encode_cursor(merged[-1].created_at, merged[-1].id)
        return Page(items=merged, next_cursor=next_cursor)

    async def _stored_notices(
        self, conn: AsyncConnection, account_id: int, before: datetime | None, limit: int
    ) -> list[Notification]:
        actor = t.accounts.alias("actor")
        n = t.notifications
        query = (
            select(
                n.c.id,
                n.c.kind,
                n.c.created_at,
                t.spaces.c.id.label("space_id"),
                t.spaces.c.title,
                t.spaces.c.state,
                actor.c.id.label("actor_id"),
                actor.c.handle,
                actor.c.display_name,
                actor.c.created_at.label("actor_created_at"),
            )
            .outerjoin(t.spaces, t.spaces.c.id == n.c.space_id)
            .outerjoin(actor, actor.c.id == n.c.actor_id)
            .where(n.c.account_id == account_id)
            .order_by(n.c.created_at.desc(), n.c.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(n.c.created_at < before)
        rows = (await conn.execute(query)).all()
        return [
            Notification(
                id=f"n{row.id}",
                kind=row.kind,
                created_at=row.created_at,
                space=None
                if row.space_id is None
                else SpaceRef(id=row.space_id, title=row.title, state=row.state),
                actor=None
                if row.actor_id is None
                else Account(
                    id=row.actor_id,
                    handle=row.handle,
                    display_name=row.display_name,
                    created_at=row.actor_created_at,
                ),
            )
            for row in rows
        ]

    async def _derived_notices(
        self, conn: AsyncConnection, account_id: int, before: datetime | None, limit: int
    ) -> list[Notification]:
        """ "A host you follow went live" and "a Space you asked to be reminded of started"."""
        host = t.accounts.alias("host")
        reminded = exists().where(
            t.reminders.c.space_id == t.spaces.c.id, t.reminders.c.account_id == account_id
        )
        followed_before_start = exists().where(
            t.follows.c.follower_id == account_id,
            t.follows.c.followee_id == t.spaces.c.host_id,
            t.follows.c.created_at <= t.spaces.c.started_at,
        )
        conditions: list[ColumnElement[bool]] = [
            t.spaces.c.started_at.is_not(None),
            t.spaces.c.host_id != account_id,
            or_(reminded, followed_before_start),
        ]
        if before is not None:
            conditions.append(t.spaces.c.started_at < before)
        query = (
            select(
                t.spaces.c.id,
                t.spaces.c.title,
                t.spaces.c.state,
                t.spaces.c.started_at,
                reminded.label("reminded"),
                host.c.id.label("host_id"),
                host.c.handle,
                host.c.display_name,
                host.c.created_at.label("host_created_at"),
            )
            .join(host, host.c.id == t.spaces.c.host_id)
            .where(*conditions)
            .order_by(t.spaces.c.started_at.desc(), t.spaces.c.id.desc())
            .limit(limit)
        )
        rows = (await conn.execute(query)).all()
        notices = []
        for row in rows:
            kind = "reminder" if row.reminded else "live"
            notices.append(
                Notification(
                    id=f"{kind}-{row.id}",
                    kind=kind,
                    created_at=row.started_at,
                    space=SpaceRef(id=row.id, title=row.title, state=row.state),
                    actor=Account(
                        id=row.host_id,
                        handle=row.handle,
                        display_name=row.display_name,
                        created_at=row.host_created_at,
                    ),
                )
            )
        return notices
