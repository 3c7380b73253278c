"""The ``Store`` contract suites' kit: a fixed clock, and accounts made in one line."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from majlis.domain.store import Store

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
Scenario = Callable[[Store], Awaitable[None]]


async def accounts(store: Store, *handles: str) -> list[int]:
    return [(await store.create_account(h, h.title(), "hash", NOW)).id for h in handles]
