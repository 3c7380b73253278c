"""Accounts, their sessions and who follows whom."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from majlis.domain.model import Account, Credentials, Session
from majlis.domain.store import StoreConflict
from majlis.security.tokens import new_session_id
from majlis.store import tables as t
from majlis.store.sql.engine import SqlEngine
from majlis.store.sql.rows import ACCOUNT_COLUMNS, row_exists, to_account

_SESSION_COLUMNS = (
    t.sessions.c.id.label("session_id"),
    t.sessions.c.account_id.label("session_account_id"),
    t.sessions.c.created_at.label("session_created_at"),
    t.sessions.c.last_used_at.label("session_last_used_at"),
)


def _to_session(row: Any) -> Session:
    m = row._mapping
    created: datetime = m["session_created_at"]
    return Session(
        id=m["session_id"] or "",
        account_id=m["session_account_id"],
        created_at=created,
        last_used_at=m["session_last_used_at"] or created,
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


class AccountQueries(SqlEngine):
    """Handles are unique case-insensitively (``handle_key``); counts are computed on read."""

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
            *ACCOUNT_COLUMNS,
            _followers_count(t.accounts.c.id).label("followers_count"),
            _following_count(t.accounts.c.id).label("following_count"),
        ).where(t.accounts.c.handle_key == handle.lower())
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else to_account(row, counts=True)

    async def credentials(self, handle: str) -> Credentials | None:
        query = select(*ACCOUNT_COLUMNS, t.accounts.c.password_hash).where(
            t.accounts.c.handle_key == handle.lower()
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return Credentials(account=to_account(row), password_hash=row.password_hash)

    async def create_session(
        self, token_hash: str, session_id: str, account_id: int, now: datetime
    ) -> None:
        async with self._write() as conn:
            await conn.execute(
                insert(t.sessions).values(
                    token_hash=token_hash,
                    id=session_id,
                    account_id=account_id,
                    created_at=now,
                    last_used_at=now,
                )
            )

    async def session_for_token(self, token_hash: str) -> tuple[Account, Session] | None:
        query = (
            select(*ACCOUNT_COLUMNS, *_SESSION_COLUMNS)
            .join(t.sessions, t.sessions.c.account_id == t.accounts.c.id)
            .where(t.sessions.c.token_hash == token_hash)
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        session = _to_session(row)
        if row.session_id is None:  # written by a node older than session ids
            session = replace(session, id=new_session_id())
            async with self._write() as conn:
                await conn.execute(
                    update(t.sessions)
                    .where(t.sessions.c.token_hash == token_hash, t.sessions.c.id.is_(None))
                    .values(id=session.id)
                )
        return to_account(row), session

    async def session_by_id(
        self, account_id: int, session_id: str
    ) -> tuple[Account, Session] | None:
        query = (
            select(*ACCOUNT_COLUMNS, *_SESSION_COLUMNS)
            .join(t.sessions, t.sessions.c.account_id == t.accounts.c.id)
            .where(t.sessions.c.account_id == account_id, t.sessions.c.id == session_id)
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else (to_account(row), _to_session(row))

    async def touch_session(self, token_hash: str, now: datetime) -> None:
        async with self._write() as conn:
            await conn.execute(
                update(t.sessions)
                .where(t.sessions.c.token_hash == token_hash)
                .values(last_used_at=now)
            )

    async def sessions_of(self, account_id: int, limit: int) -> list[Session]:
        used = func.coalesce(t.sessions.c.last_used_at, t.sessions.c.created_at)
        query = (
            select(*_SESSION_COLUMNS)
            .where(t.sessions.c.account_id == account_id, t.sessions.c.id.is_not(None))
            .order_by(used.desc(), t.sessions.c.id)
            .limit(limit)
        )
        async with self._read() as conn:
            return [_to_session(row) for row in await conn.execute(query)]

    async def delete_session(self, token_hash: str) -> bool:
        async with self._write() as conn:
            result = await conn.execute(
                delete(t.sessions).where(t.sessions.c.token_hash == token_hash)
            )
        return result.rowcount > 0

    async def delete_session_by_id(self, account_id: int, session_id: str) -> str | None:
        where = (t.sessions.c.account_id == account_id, t.sessions.c.id == session_id)
        async with self._write() as conn:
            digest = (
                await conn.execute(select(t.sessions.c.token_hash).where(*where))
            ).scalar_one_or_none()
            if digest is not None:
                await conn.execute(delete(t.sessions).where(*where))
        return digest

    # follows ---------------------------------------------------------------------------------

    async def follow(self, follower_id: int, followee_id: int, now: datetime) -> bool:
        async with self._write() as conn:
            if await row_exists(
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

    async def followed_among(
        self, follower_id: int, account_ids: Collection[int], limit: int
    ) -> list[Account]:
        if not account_ids or limit <= 0:
            return []
        query = (
            select(*ACCOUNT_COLUMNS)
            .join(t.follows, t.follows.c.followee_id == t.accounts.c.id)
            .where(
                t.follows.c.follower_id == follower_id,
                t.follows.c.followee_id.in_(list(account_ids)),
            )
            .order_by(t.follows.c.created_at.desc(), t.accounts.c.id.desc())
            .limit(limit)
        )
        async with self._read() as conn:
            return [to_account(row) for row in await conn.execute(query)]
