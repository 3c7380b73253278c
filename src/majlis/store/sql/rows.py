"""Columns and row helpers more than one aggregate reads accounts and pairs with."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from majlis.domain.model import Account
from majlis.store import tables as t

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
