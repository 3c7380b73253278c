"""Fixtures of the contracts: ``run`` drives a live-seam scenario on each backend,
``make_store`` a ``Store`` scenario on SQLite and PostgreSQL.

A suite with a kit of its own (the cluster seams) defines its own ``run`` and reuses
``redis_unreachable``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from majlis.store.sql import SqlStore
from tests.support.live_kit import Run, in_backend, need_redis, redis_unreachable_reason
from tests.support.store_kit import Scenario


@pytest.fixture(scope="session")
def redis_unreachable() -> str | None:
    return asyncio.run(redis_unreachable_reason())


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def run(request: pytest.FixtureRequest, redis_unreachable: str | None) -> Run:
    """``run(scenario)`` awaits ``scenario(kit)`` in a fresh event loop for this backend."""
    backend: str = request.param
    if backend == "redis":
        need_redis(redis_unreachable)
    return lambda scenario: asyncio.run(in_backend(backend, scenario))


@pytest.fixture(params=["sqlite", "postgresql"])
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[Scenario], None]]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    else:
        from tests.support.services import postgres_database

        context = postgres_database()
        url = context.__enter__()
        request.addfinalizer(lambda: context.__exit__(None, None, None))

    def run(scenario: Scenario) -> None:
        async def main() -> None:
            store = SqlStore(url)
            try:
                await store.migrate()
                await scenario(store)
            finally:
                await store.close()

        asyncio.run(main())

    yield run
