"""Comments in a Space's room: newest first by (created_at, id), and the one pinned.

Why no Space-row lock on a comment: a big room takes hundreds a second, and whether the Space
is live and the author not removed is read from the node's one-second Space cache by the
domain; a comment that slips in the second after the end harms nobody. Pinning does lock the
row: one pinned comment per Space, whoever pins last.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from majlis.domain.model import Comment, Page
from majlis.domain.store import StoreConflict
from majlis.store import tables as t
from majlis.store.sql.engine import SqlEngine
from majlis.store.sql.rows import ACCOUNT_COLUMNS, newest_first, page_of, to_account

_COLUMNS = (
    t.comments.c.id.label("comment_id"),
    t.comments.c.space_id,
    t.comments.c.text,
    t.comments.c.created_at.label("commented_at"),
    *ACCOUNT_COLUMNS,
)


def _select() -> Any:
    return select(*_COLUMNS).join(t.accounts, t.accounts.c.id == t.comments.c.account_id)


def _to_comment(row: Any) -> Comment:
    return Comment(
        id=row.comment_id,
        space_id=row.space_id,
        account=to_account(row),
        text=row.text,
        created_at=row.commented_at,
    )


class CommentQueries(SqlEngine):
    async def add_comment(
        self, comment_id: str, space_id: str, account_id: int, text: str, now: datetime
    ) -> Comment:
        async with self._write() as conn:
            await conn.execute(
                insert(t.comments).values(
                    id=comment_id,
                    space_id=space_id,
                    account_id=account_id,
                    text=text,
                    created_at=now,
                )
            )
            row = (await conn.execute(_select().where(t.comments.c.id == comment_id))).one()
        return _to_comment(row)

    async def comments(self, space_id: str, cursor: str | None, limit: int) -> Page[Comment]:
        query = newest_first(
            _select().where(t.comments.c.space_id == space_id),
            t.comments.c.created_at,
            t.comments.c.id,
            cursor,
        )
        async with self._read() as conn:
            rows = (await conn.execute(query.limit(limit + 1))).all()
        return page_of(rows, limit, _to_comment)

    async def comment(self, space_id: str, comment_id: str) -> Comment | None:
        query = _select().where(t.comments.c.space_id == space_id, t.comments.c.id == comment_id)
        async with self._read() as conn:
            row = (await conn.execute(query)).one_or_none()
        return None if row is None else _to_comment(row)

    async def pinned_comment(self, space_id: str) -> Comment | None:
        pinned = select(t.spaces.c.pinned_comment_id).where(t.spaces.c.id == space_id)
        query = _select().where(t.comments.c.id == pinned.scalar_subquery())
        async with self._read() as conn:
            row = (await conn.execute(query)).one_or_none()
        return None if row is None else _to_comment(row)

    async def delete_comment(self, space_id: str, comment_id: str) -> bool:
        async with self._write() as conn:
            # Under the Space-row lock, as pinning: a pin cannot land on a comment being deleted.
            await self._lock_space(conn, space_id)
            await conn.execute(
                update(t.spaces)
                .where(t.spaces.c.id == space_id, t.spaces.c.pinned_comment_id == comment_id)
                .values(pinned_comment_id=None)
            )
            result = await conn.execute(
                delete(t.comments).where(
                    t.comments.c.space_id == space_id, t.comments.c.id == comment_id
                )
            )
        return result.rowcount > 0

    async def pin_comment(self, space_id: str, comment_id: str | None) -> None:
        async with self._write() as conn:
            await self._lock_space(conn, space_id)
            if comment_id is not None:
                found = await conn.execute(
                    select(t.comments.c.id).where(
                        t.comments.c.space_id == space_id, t.comments.c.id == comment_id
                    )
                )
                if found.one_or_none() is None:
                    raise StoreConflict("not_found", "no such comment in this Space")
            await conn.execute(
                update(t.spaces)
                .where(t.spaces.c.id == space_id)
                .values(pinned_comment_id=comment_id)
            )
