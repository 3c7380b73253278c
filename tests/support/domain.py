"""The domain services of one process, wired as ``majlis.services`` wires them but with no
server, no media plane and no network: SQLite in a file, the in-process live seams, the cheapest
password hash. Unit tests call the services directly and read the store.

Accounts are made in the store (no password hashing: the stage rules never ask for one).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from majlis.config import Settings
from majlis.domain.accounts import Accounts
from majlis.domain.context import Context
from majlis.domain.notices import Notices
from majlis.domain.space_cache import SpaceCache
from majlis.domain.spaces import Spaces
from majlis.domain.stage import Stage
from majlis.seams.build import memory_live_seams
from majlis.security.listener_ids import ListenerIds
from majlis.security.passwords import PasswordKdf
from majlis.store.sql import SqlStore


class _NoTeasers:
    """The stage tests upload no teaser; decoding one would be a test of its own."""

    async def probe(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no teaser is decoded in a domain unit test")


@dataclass
class Domain:
    store: SqlStore
    accounts: Accounts
    spaces: Spaces
    stage: Stage
    notices: Notices

    @classmethod
    async def open(cls, directory: Path) -> Domain:
        settings = Settings(kdf_profile="test-cheapest", secret="unit", space_cache_ttl_s=0.0)
        store = SqlStore(f"sqlite+aiosqlite:///{directory / 'domain.db'}")
        await store.migrate()
        ctx = Context(
            settings=settings,
            store=store,
            live=memory_live_seams(settings.heartbeat_interval_s),
            kdf=PasswordKdf(settings.kdf_profile),
            listener_ids=ListenerIds(settings.secret),
            space_cache=SpaceCache(store, settings.space_cache_ttl_s),
        )
        notices = Notices(ctx)
        accounts = Accounts(ctx, notices)
        spaces = Spaces(ctx, _NoTeasers())  # type: ignore[arg-type]
        return cls(store, accounts, spaces, Stage(ctx, spaces, accounts, notices), notices)

    async def close(self) -> None:
        await self.store.close()

    async def account(self, prefix: str) -> Any:
        handle = f"{prefix}_{secrets.token_hex(4)}"
        return await self.store.create_account(handle, prefix, "unused", datetime.now(UTC))
