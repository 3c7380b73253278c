"""The ``Store`` on SQLAlchemy Core, one code path for SQLite (embedded) and PostgreSQL.

Why Core and not the ORM: every query here is on a request path, most are one statement, and
the records we return are immutable dataclasses; an identity map would only add work.

Atomic invariants (stage limits, bans, state transitions) run inside one transaction that first
locks the Space row (``SELECT ... FOR UPDATE`` on PostgreSQL). SQLite has no row locks, and its
single writer would otherwise answer "database is locked": in embedded mode one process owns the
file, so an ``asyncio.Lock`` serializes write transactions instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    delete,
    event,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from majlis.store import tables as t
from majlis.store.cursors import decode_cursor, encode_cursor
from majlis.store.migrate import run_migrations
from majlis.store.protocol import StoreConflict
from majlis.store.records import (
    Account,
    Credentials,
    Notification,
    Page,
    Space,
    SpaceRef,
    SpeakRequest,
    StageMember,
    Teaser,
)
from majlis.types import Role, SpaceState

_ROLE_ORDER = case(
    (t.stage_members.c.role == "host", 0), (t.stage_members.c.role == "cohost", 1), else_=2
)


def _followers_count(account_id: Any) -> Any:
    return (
        select(func.count())
        .select_from(t.follows)
        .where(t.follows.c.followee_id == account_id)
        .scalar_subquery()
    )


def _following_count(account_id: Any) -> Any:
    return (
        select(func.count())
        .select_from(t.follows)
        .where(t.follows.c.follower_id == account_id)
        .scalar_subquery()
    )


_ACCOUNT_COLUMNS = (
    t.accounts.c.id,
    t.accounts.c.handle,
    t.accounts.c.display_name,
    t.accounts.c.created_at,
)


def _account(row: Any, counts: bool = False) -> Account:
    m = row._mapping
    return Account(
        id=m["id"],
        handle=m["handle"],
        display_name=m["display_name"],
        created_at=m["created_at"],
        followers_count=m["followers_count"] if counts else 0,
        following_count=m["following_count"] if counts else 0,
    )


class SqlStore:
    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._write_lock = asyncio.Lock()

    # lifecycle -------------------------------------------------------------------------------

    async def migrate(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(run_migrations)

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        if self.is_sqlite:
            async with self._write_lock, self.engine.begin() as conn:
                yield conn
        else:
            async with self.engine.begin() as conn:
                yield conn

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    # accounts --------------------------------------------------------------------------------

    async def create_account(
        self, handle: str, display_name: str, password_hash: str, now: datetime
    ) -> Account:
        try:
            async with self._write() as conn:
                result = await conn.execute(
                    insert(t.accounts)
                    .values(
                        handle=handle,
                        handle_key=handle.lower(),
                        display_name=display_name,
                        password_hash=password_hash,
                        created_at=now,
                    )
                    .returning(t.accounts.c.id)
                )
                account_id = result.scalar_one()
        except IntegrityError as exc:
            raise StoreConflict("handle_taken", f"the handle {handle!r} is taken") from exc
        return Account(id=account_id, handle=handle, display_name=display_name, created_at=now)

    async def account_by_handle(self, handle: str) -> Account | None:
        query = select(
            *_ACCOUNT_COLUMNS,
            _followers_count(t.accounts.c.id).label("followers_count"),
            _following_count(t.accounts.c.id).label("following_count"),
        ).where(t.accounts.c.handle_key == handle.lower())
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _account(row, counts=True)

    async def credentials(self, handle: str) -> Credentials | None:
        query = select(*_ACCOUNT_COLUMNS, t.accounts.c.password_hash).where(
            t.accounts.c.handle_key == handle.lower()
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return Credentials(account=_account(row), password_hash=row.password_hash)

    async def create_session(self, token_hash: str, account_id: int, now: datetime) -> None:
        async with self._write() as conn:
            await conn.execute(
                insert(t.sessions).values(
                    token_hash=token_hash, account_id=account_id, created_at=now
                )
            )

    async def account_for_session(self, token_hash: str) -> Account | None:
        query = (
            select(*_ACCOUNT_COLUMNS)
            .join(t.sessions, t.sessions.c.account_id == t.accounts.c.id)
            .where(t.sessions.c.token_hash == token_hash)
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _account(row)

    async def delete_session(self, token_hash: str) -> bool:
        async with self._write() as conn:
            result = await conn.execute(
                delete(t.sessions).where(t.sessions.c.token_hash == token_hash)
            )
        return result.rowcount > 0

    # follows ---------------------------------------------------------------------------------

    async def follow(self, follower_id: int, followee_id: int, now: datetime) -> bool:
        async with self._write() as conn:
            if await _exists(
                conn,
                t.follows,
                t.follows.c.follower_id == follower_id,
                t.follows.c.followee_id == followee_id,
            ):
                return False
            await conn.execute(
                insert(t.follows).values(
                    follower_id=follower_id, followee_id=followee_id, created_at=now
                )
            )
        return True

    async def unfollow(self, follower_id: int, followee_id: int) -> bool:
        async with self._write() as conn:
            result = await conn.execute(
                delete(t.follows).where(
                    t.follows.c.follower_id == follower_id,
                    t.follows.c.followee_id == followee_id,
                )
            )
        return result.rowcount > 0

    async def followee_ids(self, account_id: int) -> frozenset[int]:
        query = select(t.follows.c.followee_id).where(t.follows.c.follower_id == account_id)
        async with self._read() as conn:
            return frozenset((await conn.execute(query)).scalars())

    # spaces ----------------------------------------------------------------------------------

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
    ) -> Space:
        async with self._write() as conn:
            await conn.execute(
                insert(t.spaces).values(
                    doors_open_minutes=doors_open_minutes,
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
                *_ACCOUNT_COLUMNS,
            )
            .join(t.accounts, t.accounts.c.id == t.stage_members.c.account_id)
            .where(t.stage_members.c.space_id.in_(ids))
            .order_by(_ROLE_ORDER, t.stage_members.c.joined_at, t.accounts.c.id)
        )
        stages: dict[str, list[StageMember]] = {space_id: [] for space_id in ids}
        for row in (await conn.execute(stage_query)).all():
            stages[row.space_id].append(
                StageMember(account=_account(row), role=row.role, muted=row.muted)
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

    async def _lock_space(self, conn: AsyncConnection, space_id: str) -> SpaceState:
        query = select(t.spaces.c.state).where(t.spaces.c.id == space_id)
        if not self.is_sqlite:
            query = query.with_for_update()
        state: SpaceState | None = (await conn.execute(query)).scalar_one_or_none()
        if state is None:
            raise StoreConflict("not_found", "no such Space")
        return state

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

    # the stage -------------------------------------------------------------------------------

    async def put_on_stage(
        self,
        space_id: str,
        account_id: int,
        role: Role,
        max_cohosts: int,
        max_speakers: int,
        now: datetime,
    ) -> StageMember:
        async with self._write() as conn:
            state = await self._lock_space(conn, space_id)
            if state != "live":
                raise StoreConflict("state", f"the Space is {state}; the stage is open only live")
            if await _has(conn, t.removals, space_id, account_id):
                raise StoreConflict("removed", "this account was removed from the Space")
            rows = (
                await conn.execute(
                    select(
                        t.stage_members.c.account_id,
                        t.stage_members.c.role,
                        t.stage_members.c.muted,
                    ).where(t.stage_members.c.space_id == space_id)
                )
            ).all()
            current = next((r for r in rows if r.account_id == account_id), None)
            if current is not None and current.role == "host":
                raise StoreConflict("host", "the host's role cannot change")
            others = [r.role for r in rows if r.account_id != account_id]
            if role == "cohost" and others.count("cohost") >= max_cohosts:
                raise StoreConflict("stage_full", f"the stage already has {max_cohosts} cohosts")
            if role == "speaker" and others.count("speaker") >= max_speakers:
                raise StoreConflict("stage_full", f"the stage already has {max_speakers} speakers")
            if current is None:
                # Like every Spaces product: a new speaker arrives muted and unmutes themselves.
                await conn.execute(
                    insert(t.stage_members).values(
                        space_id=space_id,
                        account_id=account_id,
                        role=role,
                        muted=True,
                        joined_at=now,
                    )
                )
                muted = True
            else:
                await conn.execute(
                    update(t.stage_members)
                    .where(
                        t.stage_members.c.space_id == space_id,
                        t.stage_members.c.account_id == account_id,
                    )
                    .values(role=role)
                )
                muted = current.muted
            await conn.execute(
                delete(t.speak_requests).where(
                    t.speak_requests.c.space_id == space_id,
                    t.speak_requests.c.account_id == account_id,
                )
            )
            account_row = (
                await conn.execute(select(*_ACCOUNT_COLUMNS).where(t.accounts.c.id == account_id))
            ).one()
        return StageMember(account=_account(account_row), role=role, muted=muted)

    async def leave_stage(self, space_id: str, account_id: int) -> bool:
        async with self._write() as conn:
            result = await conn.execute(
                delete(t.stage_members).where(
                    t.stage_members.c.space_id == space_id,
                    t.stage_members.c.account_id == account_id,
                    t.stage_members.c.role != "host",
                )
            )
        return result.rowcount > 0

    async def set_muted(self, space_id: str, account_id: int, muted: bool) -> bool:
        async with self._write() as conn:
            result = await conn.execute(
                update(t.stage_members)
                .where(
                    t.stage_members.c.space_id == space_id,
                    t.stage_members.c.account_id == account_id,
                    t.stage_members.c.muted != muted,
                )
                .values(muted=muted)
            )
        return result.rowcount > 0

    async def add_request(self, space_id: str, account_id: int, now: datetime) -> None:
        async with self._write() as conn:
            state = await self._lock_space(conn, space_id)
            if state != "live":
                raise StoreConflict("state", f"the Space is {state}; requests open when live")
            if await _has(conn, t.removals, space_id, account_id):
                raise StoreConflict("removed", "this account was removed from the Space")
            if await _has(conn, t.stage_members, space_id, account_id):
                raise StoreConflict("on_stage", "you are already on the stage")
            if await _has(conn, t.speak_requests, space_id, account_id):
                raise StoreConflict("requested", "you have already asked to speak")
            await conn.execute(
                insert(t.speak_requests).values(
                    space_id=space_id, account_id=account_id, created_at=now
                )
            )

    async def requests(self, space_id: str) -> list[SpeakRequest]:
        query = (
            select(*_ACCOUNT_COLUMNS, t.speak_requests.c.created_at.label("requested_at"))
            .join(t.accounts, t.accounts.c.id == t.speak_requests.c.account_id)
            .where(t.speak_requests.c.space_id == space_id)
            .order_by(t.speak_requests.c.created_at, t.accounts.c.id)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [SpeakRequest(account=_account(row), created_at=row.requested_at) for row in rows]

    async def delete_request(self, space_id: str, account_id: int) -> bool:
        async with self._write() as conn:
            result = await conn.execute(
                delete(t.speak_requests).where(
                    t.speak_requests.c.space_id == space_id,
                    t.speak_requests.c.account_id == account_id,
                )
            )
        return result.rowcount > 0

    async def remove_from_space(
        self, space_id: str, account_id: int, removed_by: int, now: datetime
    ) -> bool:
        async with self._write() as conn:
            await self._lock_space(conn, space_id)
            if await _has(conn, t.removals, space_id, account_id):
                return False
            await conn.execute(
                insert(t.removals).values(
                    space_id=space_id, account_id=account_id, removed_by=removed_by, created_at=now
                )
            )
            for table in (t.stage_members, t.speak_requests):
                await conn.execute(
                    delete(table).where(
                        table.c.space_id == space_id, table.c.account_id == account_id
                    )
                )
        return True

    async def banned_ids(self, space_id: str) -> frozenset[int]:
        query = select(t.removals.c.account_id).where(t.removals.c.space_id == space_id)
        async with self._read() as conn:
            return frozenset((await conn.execute(query)).scalars())

    # reminders and notifications -------------------------------------------------------------

    async def add_reminder(self, space_id: str, account_id: int, now: datetime) -> None:
        async with self._write() as conn:
            state = await self._lock_space(conn, space_id)
            if state != "scheduled":
                raise StoreConflict(
                    "state", f"the Space is {state}; reminders are for scheduled Spaces"
                )
            if await _has(conn, t.reminders, space_id, account_id):
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


async def _exists(conn: AsyncConnection, table: Any, *conditions: ColumnElement[bool]) -> bool:
    query = select(exists().where(*conditions))
    return bool((await conn.execute(query)).scalar())


async def _has(conn: AsyncConnection, table: Any, space_id: str, account_id: int) -> bool:
    """Whether ``table`` (a per-Space, per-account table) has a row for this pair."""
    return await _exists(
        conn, table, table.c.space_id == space_id, table.c.account_id == account_id
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the writer; foreign keys are off in SQLite unless asked."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


__all__ = ["SqlStore"]
