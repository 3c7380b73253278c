"""The transcript of a Space: its cues, in the order they were said (start, then id).

Written by the media node that runs the Space's room as each utterance is recognized, read by
any node for the transcript and its downloads; the host deletes it all at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, func, insert, select

from majlis.domain.model import Cue, TranscriptHit
from majlis.store import tables as t
from majlis.store.sql.engine import SqlEngine
from majlis.store.sql.rows import ACCOUNT_COLUMNS, to_account
from majlis.text_folding import normalize

_COLUMNS = (
    t.captions.c.id.label("cue_id"),
    t.captions.c.space_id,
    t.captions.c.start_s,
    t.captions.c.end_s,
    t.captions.c.text,
    t.captions.c.language,
    *ACCOUNT_COLUMNS,
)


#: Words of a query that count; more add nothing a person typed on purpose.
MAX_QUERY_WORDS = 8


def _escaped(word: str) -> str:
    """A folded word as a LIKE pattern's literal (folding keeps no ``%`` or ``_``, but ``\\``)."""
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _select() -> Any:
    return select(*_COLUMNS).join(t.accounts, t.accounts.c.id == t.captions.c.account_id)


def _to_cue(row: Any) -> Cue:
    return Cue(
        id=row.cue_id,
        space_id=row.space_id,
        speaker=to_account(row),
        start=row.start_s,
        end=row.end_s,
        text=row.text,
        language=row.language,
    )


class CaptionQueries(SqlEngine):
    async def add_cue(
        self,
        space_id: str,
        account_id: int,
        start: float,
        end: float,
        text: str,
        language: str,
    ) -> Cue:
        async with self._write() as conn:
            result = await conn.execute(
                insert(t.captions)
                .values(
                    space_id=space_id,
                    account_id=account_id,
                    start_s=start,
                    end_s=end,
                    text=text,
                    text_folded=normalize(text),
                    language=language,
                )
                .returning(t.captions.c.id)
            )
            cue_id = result.scalar_one()
            row = (await conn.execute(_select().where(t.captions.c.id == cue_id))).one()
        return _to_cue(row)

    async def cues(self, space_id: str, after_id: int = 0, limit: int = 10_000) -> list[Cue]:
        query = (
            _select()
            .where(t.captions.c.space_id == space_id, t.captions.c.id > after_id)
            .order_by(t.captions.c.start_s, t.captions.c.id)
            .limit(limit)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [_to_cue(row) for row in rows]

    async def cues_between(self, space_id: str, start: float, end: float) -> list[Cue]:
        column = t.captions.c.start_s
        query = (
            _select()
            .where(t.captions.c.space_id == space_id, column >= start, column < end)
            .order_by(column, t.captions.c.id)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [_to_cue(row) for row in rows]

    async def search_transcripts(self, query: str, limit: int) -> list[TranscriptHit]:
        words = normalize(query).split()[:MAX_QUERY_WORDS]
        if not words:
            return []
        folded = t.captions.c.text_folded
        # Every word of the query in the cue (a substring: "مدرس" finds "مدرسه"), the Spaces
        # with the most such cues first, then the most recent.
        matching = and_(*(folded.like(f"%{_escaped(w)}%", escape="\\") for w in words))
        query_ = (
            select(
                t.captions.c.space_id,
                func.count().label("hits"),
                func.min(t.captions.c.id).label("first_id"),
            )
            .where(matching)
            .group_by(t.captions.c.space_id)
            .order_by(func.count().desc(), func.max(t.captions.c.id).desc())
            .limit(limit)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query_)).all()
            firsts = {row.first_id for row in rows}
            cues = (await conn.execute(_select().where(t.captions.c.id.in_(firsts)))).all()
        first_cue = {row.cue_id: _to_cue(row) for row in cues}
        return [TranscriptHit(row.space_id, row.hits, first_cue[row.first_id]) for row in rows]

    async def latest_cues(self, space_id: str, limit: int) -> list[Cue]:
        query = (
            _select()
            .where(t.captions.c.space_id == space_id)
            .order_by(t.captions.c.id.desc())
            .limit(limit)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [_to_cue(row) for row in reversed(rows)]

    async def delete_cues(self, space_id: str) -> int:
        async with self._write() as conn:
            result = await conn.execute(delete(t.captions).where(t.captions.c.space_id == space_id))
        return int(result.rowcount or 0)
