"""The engine, its connections and the one lock every atomic invariant starts from.

Atomic invariants (stage limits, bans, state transitions) run inside one transaction that first
locks the Space row (``SELECT ... FOR UPDATE`` on PostgreSQL). SQLite has no row locks, and its
single writer would otherwise answer "database is locked": in embedded mode one process owns the
file, so an ``asyncio.Lock`` serializes write transactions instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from majlis.domain.store import StoreConflict
from majlis.store import tables as t
from majlis.store.migrate import run_migrations
from majlis.types import SpaceState


class SqlEngine:
    """What every aggregate's queries share: connections for reading, serialized writes."""

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

    async def _lock_space(self, conn: AsyncConnection, space_id: str) -> SpaceState:
        query = select(t.spaces.c.state).where(t.spaces.c.id == space_id)
        if not self.is_sqlite:
            query = query.with_for_update()
        state: SpaceState | None = (await conn.execute(query)).scalar_one_or_none()
        if state is None:
            raise StoreConflict("not_found", "no such Space")
        return state


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the writer; foreign keys are off in SQLite unless asked."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
