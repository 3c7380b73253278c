"""Runs Alembic migrations on an open connection, so ``serve`` brings any database to head.

Why in-process and not the ``alembic`` CLI: an operator starts majlis and it works; several nodes
starting at once take a PostgreSQL advisory lock so exactly one of them migrates.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

MIGRATIONS = Path(__file__).parent / "migrations"
#: Arbitrary constant naming majlis's migration lock among PostgreSQL advisory locks.
_ADVISORY_LOCK_KEY = 0x6D616A6C6973


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def run_migrations(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
    command.upgrade(alembic_config(connection), "head")
