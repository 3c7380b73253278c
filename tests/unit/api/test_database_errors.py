"""Which database errors are an outage (503 + Retry-After: the client comes back) and which are
a bug (500, logged loudly): api/problems.py ``_database_unreachable``. The outage itself, a
PostgreSQL crashed and restarted under a 4-node cluster, is tests/hardening/
test_backing_restarts.py."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from majlis.api.problems import _database_unreachable


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (OperationalError("x", {}, sqlite3.OperationalError("database is locked")), True),
        (OperationalError("x", {}, sqlite3.OperationalError("no such table: comments")), False),
        (OperationalError("x", {}, sqlite3.OperationalError('near "SELEC": syntax error')), False),
        (DBAPIError("x", {}, _PgError("08006")), True),  # connection failure
        (DBAPIError("x", {}, _PgError("57P01")), True),  # admin shutdown
        (DBAPIError("x", {}, _PgError("53300")), True),  # too many connections
        (ProgrammingError("x", {}, _PgError("42P01")), False),  # undefined table
        (OperationalError("x", {}, ConnectionRefusedError()), True),
        (DBAPIError("x", {}, ValueError("bad argument")), False),
        (DBAPIError("x", {}, ValueError("gone"), connection_invalidated=True), True),
    ],
)
def test_an_outage_is_told_from_a_bug(error: DBAPIError, outage: bool) -> None:
    assert _database_unreachable(error) is outage
