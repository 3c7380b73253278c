"""Shared fixtures: a real server per deployment shape, and an API client.

The ``api`` fixture is parametrized over the two shapes majlis ships, so every API test runs
against both: embedded (SQLite + in-process live state) and distributed (PostgreSQL + Redis).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client import CREATED, Api, end_created_spaces
from tests.server import RunningServer, run_server
from tests.services import postgres_database, redis_url

ENGINES = ["sqlite", "postgresql"]  # the second also runs the live seams on Redis


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


def _engine_url(engine: str, request: pytest.FixtureRequest) -> str:
    if engine == "sqlite":
        return ""
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(scope="session", params=ENGINES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    engine: str = request.param
    data_dir: Path = tmp_path_factory.mktemp(f"majlis-{engine}")
    overrides = {}
    if engine == "postgresql":
        overrides = {
            "redis_url": redis_url(),
            "redis_prefix": f"majlis-test-{secrets.token_hex(4)}:",
        }
    with run_server(data_dir, _engine_url(engine, request), **overrides) as running:
        yield running


@pytest.fixture
def api(server: RunningServer) -> Iterator[Api]:
    client = Api(server.base_url)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _end_the_spaces_a_test_created() -> Iterator[None]:
    """No test leaves a live room running on a shared server (tests/client.py says why).

    Spaces made by module- or session-scoped fixtures (set up before this one) are theirs to
    keep for the tests that share them: forgotten here, never ended."""
    CREATED.clear()
    yield
    end_created_spaces()
