"""Issue 14, finding 9: the database URL a hosting provider hands out works as pasted.

``postgresql://...?sslmode=require`` used to crash at start (``No module named 'psycopg'``)
after the CLI printed "serving on"; a URL majlis cannot run on must be refused before anything
starts, saying why.
"""

from __future__ import annotations

import re
from contextlib import closing
from pathlib import Path

import pytest

from majlis.config import Settings
from majlis.database_url import async_database_url
from tests.support.client import Api
from tests.support.server import run_server
from tests.support.services import postgres_database


@pytest.mark.parametrize(
    ("pasted", "runs_on"),
    [
        ("postgresql://u:p@db:5432/majlis", "postgresql+asyncpg://u:p@db:5432/majlis"),
        ("postgres://u:p@db/majlis", "postgresql+asyncpg://u:p@db/majlis"),
        ("POSTGRESQL://u@db/m", "postgresql+asyncpg://u@db/m"),
        (
            "postgresql://u:p%3F@db/m?sslmode=require&application_name=x",
            "postgresql+asyncpg://u:p%3F@db/m?ssl=require&application_name=x",
        ),
        (
            "postgresql+asyncpg://u@db/m?ssl=verify-full",
            "postgresql+asyncpg://u@db/m?ssl=verify-full",
        ),
        ("sqlite:////var/lib/majlis/majlis.db", "sqlite+aiosqlite:////var/lib/majlis/majlis.db"),
        ("sqlite+aiosqlite:///rel.db", "sqlite+aiosqlite:///rel.db"),
    ],
)
def test_the_usual_spellings_run_on_the_async_drivers(pasted: str, runs_on: str) -> None:
    assert async_database_url(pasted) == runs_on


@pytest.mark.parametrize(
    ("pasted", "says"),
    [
        ("postgresql+psycopg2://u@db/m", "'postgresql+psycopg2' is not one of them"),
        ("mysql://u@db/m", "'mysql' is not one of them"),
        ("db.example.org:5432/majlis", "must look like postgresql://"),
    ],
)
def test_a_url_majlis_cannot_run_on_is_refused_before_start(pasted: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        Settings(database_url=pasted).validated()


def test_a_node_serves_on_the_url_as_a_provider_hands_it_out(tmp_path: Path) -> None:
    with postgres_database() as url:
        scheme, rest = url.split("://", 1)
        assert scheme == "postgresql+asyncpg"
        pasted = f"postgresql://{rest}{'&' if '?' in rest else '?'}sslmode=disable"
        with (
            run_server(tmp_path, database_url=pasted) as server,
            closing(Api(server.base_url)) as api,
        ):
            host = api.sign_up("pasted")
            assert host.create_space("On a pasted URL")["state"] == "live"
