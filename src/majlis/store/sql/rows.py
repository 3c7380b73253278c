"""Columns and row helpers more than one aggregate reads accounts and pairs with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from majlis.domain.model import Account, Page
from majlis.store import tables as t
from majlis.store.cursors import decode_cursor, encode_cursor


class _Dated(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


Item = TypeVar("Item", bound=_Dated)


def newest_first(query: Any, created: Any, key: Any, cursor: str | None) -> Any:
    """``query`` newest first by (``created``, ``key``), after ``cursor``'s item if given (a
    forged cursor raises ``BadCursor``). Fetch one more row than a page: ``page_of`` needs it."""
    if cursor is not None:
        at, tie = decode_cursor(cursor)
        query = query.where(or_(created < at, and_(created == at, key < tie)))
    return query.order_by(created.desc(), key.desc())


def page_of(rows: Sequence[Any], limit: int, item: Callable[[Any], Item]) -> Page[Item]:
    """A page of ``limit`` items from ``limit + 1`` rows; the cursor names the last item."""
    items = [item(row) for row in rows[:limit]]
    more = len(rows) > limit
    cursor = encode_cursor(items[-1].created_at, items[-1].id) if more else None
    return Page(items=items, next_cursor=cursor)


ACCOUNT_COLUMNS = (
    t.accounts.c.id,
    t.accounts.c.handle,
    t.accounts.c.display_name,
    t.accounts.c.created_at,
)


def to_account(row: Any, counts: bool = False) -> Account:
    m = row._mapping
    return Account(
        id=m["id"],
        handle=m["handle"],
        display_name=m["display_name"],
        created_at=m["created_at"],
        followers_count=m["followers_count"] if counts else 0,
        following_count=m["following_count"] if counts else 0,
    )


async def row_exists(conn: AsyncConnection, table: Any, *conditions: ColumnElement[bool]) -> bool:
    query = select(exists().where(*conditions))
    return bool((await conn.execute(query)).scalar())


async def has_row(conn: AsyncConnection, table: Any, space_id: str, account_id: int) -> bool:
    """Whether ``table`` (a per-Space, per-account table) has a row for this pair."""
    return await row_exists(
        conn, table, table.c.space_id == space_id, table.c.account_id == account_id
    )
