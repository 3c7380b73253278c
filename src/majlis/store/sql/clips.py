"""Clips of a Space, newest first by (created_at, id); the audio files lie beside the
recordings (media/clip_files.py), the rows here say who cut what and where."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select

from majlis.domain.model import Clip, Page
from majlis.store import tables as t
from majlis.store.sql.engine import SqlEngine
from majlis.store.sql.rows import ACCOUNT_COLUMNS, newest_first, page_of, to_account

_COLUMNS = (
    t.clips.c.id.label("clip_id"),
    t.clips.c.space_id,
    t.clips.c.start_s,
    t.clips.c.duration_s,
    t.clips.c.created_at.label("clipped_at"),
    *ACCOUNT_COLUMNS,
)


def _select() -> Any:
    return select(*_COLUMNS).join(t.accounts, t.accounts.c.id == t.clips.c.account_id)


def _to_clip(row: Any) -> Clip:
    return Clip(
        id=row.clip_id,
        space_id=row.space_id,
        account=to_account(row),
        start=row.start_s,
        duration=row.duration_s,
        created_at=row.clipped_at,
    )


class ClipQueries(SqlEngine):
    async def add_clip(
        self,
        clip_id: str,
        space_id: str,
        account_id: int,
        start: float,
        duration: float,
        now: datetime,
    ) -> Clip:
        async with self._write() as conn:
            await conn.execute(
                insert(t.clips).values(
                    id=clip_id,
                    space_id=space_id,
                    account_id=account_id,
                    start_s=start,
                    duration_s=duration,
                    created_at=now,
                )
            )
            row = (await conn.execute(_select().where(t.clips.c.id == clip_id))).one()
        return _to_clip(row)

    async def clip(self, clip_id: str) -> Clip | None:
        async with self._read() as conn:
            row = (await conn.execute(_select().where(t.clips.c.id == clip_id))).one_or_none()
        return None if row is None else _to_clip(row)

    async def clips(self, space_id: str, cursor: str | None, limit: int) -> Page[Clip]:
        query = newest_first(
            _select().where(t.clips.c.space_id == space_id),
            t.clips.c.created_at,
            t.clips.c.id,
            cursor,
        )
        async with self._read() as conn:
            rows = (await conn.execute(query.limit(limit + 1))).all()
        return page_of(rows, limit, _to_clip)

    async def delete_clip(self, clip_id: str) -> bool:
        async with self._write() as conn:
            result = await conn.execute(delete(t.clips).where(t.clips.c.id == clip_id))
        return result.rowcount > 0
