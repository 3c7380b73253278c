"""Spaces: creating, reading and listing them, their lifecycle, feeds and the pre-show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from majlis.domain.model import Account, Page, PinnedLink, Space, StageMember, Teaser
from majlis.domain.store import StoreConflict
from majlis.store import tables as t
from majlis.store.cursors import decode_cursor, encode_cursor
from majlis.store.sql.engine import SqlEngine
from majlis.store.sql.rows import ACCOUNT_COLUMNS, to_account
from majlis.types import SpaceState

_ROLE_ORDER = case(
    (t.stage_members.c.role == "host", 0), (t.stage_members.c.role == "cohost", 1), else_=2
)


class SpaceQueries(SqlEngine):
    """A Space is read with its host and stage in two queries, however many Spaces a page holds."""

    async def create_space(
        self,
        space_id: str,
        host_id: int,
        title: str,
        state: SpaceState,
        scheduled_start: datetime | None,
        record: bool,
        now: datetime,
        doors_open_minutes: int = 0,
        captions: bool = False,
    ) -> Space:
        async with self._write() as conn:
            await conn.execute(
                insert(t.spaces).values(
                    doors_open_minutes=doors_open_minutes,
                    captions=captions,
                    id=space_id,
                    host_id=host_id,
                    title=title,
                    state=state,
                    scheduled_start=scheduled_start,
                    started_at=now if state == "live" else None,
                    ended_at=None,
                    record=record,
                    created_at=now,
                )
            )
            await conn.execute(
                insert(t.stage_members).values(
                    space_id=space_id, account_id=host_id, role="host", muted=False, joined_at=now
                )
            )
            return await self._space(conn, space_id)

    async def count_spaces_of_host(self, host_id: int, state: SpaceState) -> int:
        query = (
            select(func.count())
            .select_from(t.spaces)
            .where(t.spaces.c.host_id == host_id, t.spaces.c.state == state)
        )
        async with self._read() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def space(self, space_id: str) -> Space | None:
        async with self._read() as conn:
            spaces = await self._spaces(conn, select_spaces().where(t.spaces.c.id == space_id))
        return spaces[0] if spaces else None

    async def _space(self, conn: AsyncConnection, space_id: str) -> Space:
        spaces = await self._spaces(conn, select_spaces().where(t.spaces.c.id == space_id))
        return spaces[0]

    async def _spaces(self, conn: AsyncConnection, query: Any) -> list[Space]:
        rows = (await conn.execute(query)).all()
        if not rows:
            return []
        ids = [row.id for row in rows]
        stage_query = (
            select(
                t.stage_members.c.space_id,
                t.stage_members.c.role,
                t.stage_members.c.muted,
                *ACCOUNT_COLUMNS,
            )
            .join(t.accounts, t.accounts.c.id == t.stage_members.c.account_id)
            .where(t.stage_members.c.space_id.in_(ids))
            .order_by(_ROLE_ORDER, t.stage_members.c.joined_at, t.accounts.c.id)
        )
        stages: dict[str, list[StageMember]] = {space_id: [] for space_id in ids}
        for row in (await conn.execute(stage_query)).all():
            stages[row.space_id].append(
                StageMember(account=to_account(row), role=row.role, muted=row.muted)
            )
        return [
            Space(
                id=row.id,
                title=row.title,
                state=row.state,
                host=Account(
                    id=row.host_id,
                    handle=row.host_handle,
                    display_name=row.host_display_name,
                    created_at=row.host_created_at,
                ),
                stage=tuple(stages[row.id]),
                scheduled_start=row.scheduled_start,
                started_at=row.started_at,
                ended_at=row.ended_at,
                record=row.record,
                created_at=row.created_at,
                doors_open_minutes=row.doors_open_minutes,
                has_teaser=bool(row.has_teaser),
                link=PinnedLink(row.link_url, row.link_title or "") if row.link_url else None,
                clips_allowed=row.clips_allowed,
                captions=row.captions,
                language=row.language,
            )
            for row in rows
        ]

    async def list_spaces(
        self, state: SpaceState | None, cursor: str | None, limit: int, host_id: int | None = None
    ) -> Page[Space]:
        sort_column, descending = _sort_key(state)
        query = select_spaces()
        if state is not None:
            query = query.where(t.spaces.c.state == state)
        if host_id is not None:  # one host's Spaces: ix_spaces_host_state
            query = query.where(t.spaces.c.host_id == host_id)
        if cursor is not None:
            at, tie = decode_cursor(cursor)
            if descending:
                after = or_(sort_column < at, and_(sort_column == at, t.spaces.c.id < tie))
            else:
                after = or_(sort_column > at, and_(sort_column == at, t.spaces.c.id > tie))
            query = query.where(after)
        order = (
            (sort_column.desc(), t.spaces.c.id.desc())
            if descending
            else (sort_column.asc(), t.spaces.c.id.asc())
        )
        query = query.order_by(*order).limit(limit + 1)
        async with self._read() as conn:
            spaces = await self._spaces(conn, query)
        next_cursor = None
        if len(spaces) > limit:
            spaces = spaces[:limit]
            last = spaces[-1]
            next_cursor = encode_cursor(_sort_value(last, state), last.id)
        return Page(items=spaces, next_cursor=next_cursor)

    async def transition(
        self, space_id: str, allowed_from: tuple[SpaceState, ...], to: SpaceState, now: datetime
    ) -> Space:
        async with self._write() as conn:
            state = await self._lock_space(conn, space_id)
            if state not in allowed_from:
                raise StoreConflict("state", f"the Space is {state}, so it cannot become {to}")
            values: dict[str, Any] = {"state": to}
            if to == "live":
                values["started_at"] = now
            if to == "ended":
                values["ended_at"] = now
                await conn.execute(
                    delete(t.speak_requests).where(t.speak_requests.c.space_id == space_id)
                )
            await conn.execute(update(t.spaces).where(t.spaces.c.id == space_id).values(**values))
            return await self._space(conn, space_id)

    async def live_feed(self, account_id: int, limit: int) -> list[Space]:
        followed_on_stage = exists().where(
            t.stage_members.c.space_id == t.spaces.c.id,
            t.follows.c.followee_id == t.stage_members.c.account_id,
            t.follows.c.follower_id == account_id,
        )
        query = (
            select_spaces()
            .where(t.spaces.c.state == "live", followed_on_stage)
            .order_by(t.spaces.c.started_at.desc(), t.spaces.c.id.desc())
            .limit(limit)
        )
        async with self._read() as conn:
            return await self._spaces(conn, query)

    async def set_doors_open(self, space_id: str, minutes: int) -> Space:
        async with self._write() as conn:
            await self._lock_scheduled(conn, space_id, "the pre-show")
            await conn.execute(
                update(t.spaces).where(t.spaces.c.id == space_id).values(doors_open_minutes=minutes)
            )
            return await self._space(conn, space_id)

    async def _lock_scheduled(self, conn: AsyncConnection, space_id: str, what: str) -> None:
        state = await self._lock_space(conn, space_id)
        if state != "scheduled":
            raise StoreConflict("state", f"the Space is {state}; {what} is for scheduled Spaces")

    async def put_teaser(self, space_id: str, teaser: Teaser) -> Space:
        async with self._write() as conn:
            await self._lock_scheduled(conn, space_id, "a teaser")
            await conn.execute(delete(t.teasers).where(t.teasers.c.space_id == space_id))
            await conn.execute(
                insert(t.teasers).values(
                    space_id=space_id,
                    content_type=teaser.content_type,
                    audio=teaser.audio,
                    duration_ms=teaser.duration_ms,
                    created_at=teaser.created_at,
                )
            )
            return await self._space(conn, space_id)

    async def teaser(self, space_id: str) -> Teaser | None:
        query = select(
            t.teasers.c.content_type,
            t.teasers.c.audio,
            t.teasers.c.duration_ms,
            t.teasers.c.created_at,
        ).where(t.teasers.c.space_id == space_id)
        async with self._read() as conn:
            row = (await conn.execute(query)).one_or_none()
        if row is None:
            return None
        return Teaser(row.content_type, bytes(row.audio), row.duration_ms, row.created_at)

    async def delete_teaser(self, space_id: str) -> bool:
        async with self._write() as conn:
            result = await conn.execute(delete(t.teasers).where(t.teasers.c.space_id == space_id))
        return result.rowcount > 0

    async def set_link(self, space_id: str, link: PinnedLink | None) -> Space:
        async with self._write() as conn:
            state = await self._lock_space(conn, space_id)
            if state == "ended":
                raise StoreConflict("state", "the Space has ended; its link stays as it was")
            await conn.execute(
                update(t.spaces)
                .where(t.spaces.c.id == space_id)
                .values(
                    link_url=None if link is None else link.url,
                    link_title=None if link is None else link.title,
                )
            )
            return await self._space(conn, space_id)

    async def set_clips_allowed(self, space_id: str, allowed: bool) -> Space:
        return await self._set_switch(space_id, clips_allowed=allowed)

    async def set_captions(self, space_id: str, on: bool) -> Space:
        return await self._set_switch(space_id, captions=on)

    async def set_language(self, space_id: str, language: str) -> Space:
        return await self._set_switch(space_id, language=language)

    async def _set_switch(self, space_id: str, **switch: bool | str) -> Space:
        async with self._write() as conn:
            await self._lock_space(conn, space_id)
            await conn.execute(update(t.spaces).where(t.spaces.c.id == space_id).values(**switch))
            return await self._space(conn, space_id)

    async def upcoming_feed(self, account_id: int, limit: int) -> list[Space]:
        followed = select(t.follows.c.followee_id).where(t.follows.c.follower_id == account_id)
        query = (
            select_spaces()
            .where(t.spaces.c.state == "scheduled", t.spaces.c.host_id.in_(followed))
            .order_by(t.spaces.c.scheduled_start.asc(), t.spaces.c.id.asc())
            .limit(limit)
        )
        async with self._read() as conn:
            return await self._spaces(conn, query)


def select_spaces() -> Any:
    host = t.accounts.alias("host")
    return select(
        t.spaces,
        host.c.handle.label("host_handle"),
        host.c.display_name.label("host_display_name"),
        host.c.created_at.label("host_created_at"),
        exists().where(t.teasers.c.space_id == t.spaces.c.id).label("has_teaser"),
    ).join(host, host.c.id == t.spaces.c.host_id)


def _sort_key(state: SpaceState | None) -> tuple[Any, bool]:
    """Live: newest start first; scheduled: soonest first; ended: latest end first."""
    if state == "live":
        return t.spaces.c.started_at, True
    if state == "scheduled":
        return t.spaces.c.scheduled_start, False
    if state == "ended":
        return t.spaces.c.ended_at, True
    return t.spaces.c.created_at, True


def _sort_value(space: Space, state: SpaceState | None) -> datetime:
    value = {
        "live": space.started_at,
        "scheduled": space.scheduled_start,
        "ended": space.ended_at,
    }.get(state or "", space.created_at)
    return value or space.created_at
