"""The stage, requests to speak and removals: the invariants that lock the Space row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update

from majlis.domain.model import SpeakRequest, StageMember
from majlis.domain.store import StoreConflict
from majlis.store import tables as t
from majlis.store.sql.engine import SqlEngine
from majlis.store.sql.rows import ACCOUNT_COLUMNS, has_row, to_account
from majlis.types import Role


class StageQueries(SqlEngine):
    """Limits and bans are checked under the Space-row lock, so two hosts cannot overfill it."""

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
            if await has_row(conn, t.removals, space_id, account_id):
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
                await conn.execute(select(*ACCOUNT_COLUMNS).where(t.accounts.c.id == account_id))
            ).one()
        return StageMember(account=to_account(account_row), role=role, muted=muted)

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
            if await has_row(conn, t.removals, space_id, account_id):
                raise StoreConflict("removed", "this account was removed from the Space")
            if await has_row(conn, t.stage_members, space_id, account_id):
                raise StoreConflict("on_stage", "you are already on the stage")
            if await has_row(conn, t.speak_requests, space_id, account_id):
                raise StoreConflict("requested", "you have already asked to speak")
            await conn.execute(
                insert(t.speak_requests).values(
                    space_id=space_id, account_id=account_id, created_at=now
                )
            )

    async def requests(self, space_id: str) -> list[SpeakRequest]:
        query = (
            select(*ACCOUNT_COLUMNS, t.speak_requests.c.created_at.label("requested_at"))
            .join(t.accounts, t.accounts.c.id == t.speak_requests.c.account_id)
            .where(t.speak_requests.c.space_id == space_id)
            .order_by(t.speak_requests.c.created_at, t.accounts.c.id)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [SpeakRequest(account=to_account(row), created_at=row.requested_at) for row in rows]

    async def has_request(self, space_id: str, account_id: int) -> bool:
        async with self._read() as conn:
            return await has_row(conn, t.speak_requests, space_id, account_id)

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
            if await has_row(conn, t.removals, space_id, account_id):
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
