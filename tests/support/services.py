"""Reaching the real services the tests need, and saying clearly why when they are absent.

On a laptop without PostgreSQL or Redis those tests skip with the reason; in CI
(``MAJLIS_REQUIRE_ALL=1``) an absent service is a failure, never a silent skip.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG_HOST = os.environ.get("MAJLIS_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("MAJLIS_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("MAJLIS_TEST_PG_USER", "postgres")
PG_PASSWORD = os.environ.get("MAJLIS_TEST_PG_PASSWORD", "")


def require_all() -> bool:
    return os.environ.get("MAJLIS_REQUIRE_ALL") == "1"


def unavailable(reason: str) -> None:
    """Skip with ``reason``, or fail under MAJLIS_REQUIRE_ALL=1."""
    if require_all():
        pytest.fail(f"required service unavailable (MAJLIS_REQUIRE_ALL=1): {reason}")
    pytest.skip(reason)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _pg_dsn(database: str) -> str:
    auth = PG_USER + (f":{PG_PASSWORD}" if PG_PASSWORD else "")
    return f"postgresql+asyncpg://{auth}@{PG_HOST}:{PG_PORT}/{database}"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test session, dropped afterwards."""
    if not port_open(PG_HOST, PG_PORT):
        unavailable(f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}")
    import asyncio

    import asyncpg

    name = "majlis_test_" + secrets.token_hex(4)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(
            host=PG_HOST,
            port=PG_PORT,
            user=PG_USER,
            password=PG_PASSWORD or None,
            database="postgres",
        )
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        unavailable(f"cannot create a PostgreSQL database at {PG_HOST}:{PG_PORT}: {exc}")
    try:
        yield _pg_dsn(name)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


REDIS_HOST = os.environ.get("MAJLIS_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("MAJLIS_TEST_REDIS_PORT", "6379"))


def redis_url() -> str:
    """The Redis the distributed-mode tests use, or a skip (failure under REQUIRE_ALL)."""
    if not port_open(REDIS_HOST, REDIS_PORT):
        unavailable(f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT}")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/0"
