"""Shared fixtures: a real server per deployment shape, and an API client.

The ``api`` fixture is parametrized over the two shapes majlis ships, so every API test runs
against both: embedded (SQLite + in-process live state) and distributed (PostgreSQL + Redis).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.client import PASSWORD, TLS, Api, User
from tests.support.server import RUNNING, RunningServer, run_server
from tests.support.services import postgres_database, redis_url

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


def _ending_what_was_left_running(
    known: dict[int, tuple[RunningServer, set[str]]] | None = None,
) -> Iterator[None]:
    """End the Spaces made (and left unended) from here to the end of the scope.

    ``known``: the unended Spaces per server as the last test left them, when still true (see
    ``_LEFT_BY_THE_LAST_TEST``); it spares reading them again, two reads per test otherwise."""
    before = {}
    for server in RUNNING:
        remembered = known.get(id(server)) if known is not None else None
        if remembered is not None and remembered[0] is server:
            before[id(server)] = remembered[1]
        else:
            before[id(server)] = server.unended_spaces()
    if known is not None:
        known.clear()
    yield
    for server in list(RUNNING):
        unended = server.unended_spaces()
        left = unended - before.get(id(server), set())
        if left:
            server.end_spaces(left)
        if known is not None:
            known[id(server)] = (server, unended - left)


#: What each running server had unended when the last test's teardown ended what it left. True
#: for the next test unless a fixture of a wider scope was set up in between (only fixtures
#: make Spaces outside a test: see ``pytest_fixture_setup``); cleared when a test starts.
_LEFT_BY_THE_LAST_TEST: dict[int, tuple[RunningServer, set[str]]] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[object]) -> None:
    if fixturedef.scope != "function":
        _LEFT_BY_THE_LAST_TEST.clear()


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
    yield from _ending_what_was_left_running(_LEFT_BY_THE_LAST_TEST)


RUN_SLOW = "MAJLIS_SLOW"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked slow (acceptance runs, browsers reconnecting, thousands of listeners) run in
    CI, which sets MAJLIS_SLOW=1, or when asked with ``-m slow``; a developer's plain ``pytest``
    leaves them out, which keeps the everyday loop under ten minutes on a 2-core machine."""
    if os.environ.get(RUN_SLOW) == "1" or config.option.markexpr:
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]


def pytest_report_header(config: pytest.Config) -> str:
    if os.environ.get(RUN_SLOW) == "1" or config.option.markexpr:
        return "slow tests: included"
    return f"slow tests: left out (CI runs them: {RUN_SLOW}=1, or -m slow)"


@pytest.fixture
def end_live_spaces(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """End the Spaces a test left live: each one keeps a media room running (a mixer clock, an
    encoder thread and, in the distributed shape, a Redis connection) for the whole session.

    Used by the modules that sign up hosts by the hundred (bad input, fuzzing), with
    ``pytestmark = pytest.mark.usefixtures("end_live_spaces")``."""
    users: list[User] = []
    sign_in = Api.sign_in

    def recording_sign_in(self: Api, handle: str, password: str = PASSWORD) -> User:
        user = sign_in(self, handle, password)
        users.append(user)
        return user

    monkeypatch.setattr(Api, "sign_in", recording_sign_in)
    yield
    if not users:
        return
    hosts = {user.handle.lower(): user for user in users}
    with (
        contextlib.suppress(httpx.TransportError),  # the test's own server may be gone
        httpx.Client(base_url=users[0].api.base_url, timeout=10, verify=TLS) as http,
    ):
        live = http.get("/api/v1/spaces", params={"state": "live", "limit": 100})
        for space in live.json()["items"] if live.status_code == 200 else []:
            host = hosts.get(space["host"]["handle"].lower())
            if host is not None:
                http.post(f"/api/v1/spaces/{space['id']}/end", headers=host.headers)
