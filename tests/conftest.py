"""Shared fixtures: a real server per deployment shape, and an API client.

The ``api`` fixture is parametrized over the two shapes majlis ships, so every API test runs
against both: embedded (SQLite + in-process live state) and distributed (PostgreSQL + Redis).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client import Api
from tests.server import RUNNING, RunningServer, run_server
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


def _ending_what_was_left_running() -> Iterator[None]:
    before = {id(server): server.unended_spaces() for server in RUNNING}
    yield
    for server in list(RUNNING):
        left = server.unended_spaces() - before.get(id(server), set())
        if left:
            server.end_spaces(left)


@pytest.fixture(autouse=True, scope="module")
def _end_the_spaces_a_module_left_running() -> Iterator[None]:
    """No module leaves a room mixing and encoding on a shared server.

    Why: a live (or doors-open) Space left behind kept its room running on the session server
    for the rest of the run; Spaces made in browsers, left opening, or made by module fixtures
    leaked. Later timing tests on that server slowed until one timed out in CI (a teaser swap:
    20 s, 0.4 s clean). No session- or package-scoped fixture makes Spaces."""
    yield from _ending_what_was_left_running()


@pytest.fixture(autouse=True)
def _end_the_spaces_a_test_left_running() -> Iterator[None]:
    """The same per test, sparing the Spaces of module fixtures (made before this runs)."""
    yield from _ending_what_was_left_running()
