"""Issue 14, finding 8: a weak secret is refused, a grant is honoured only where grants are
issued, and the nodes on one database share one secret (or a node refuses to start, saying why).

With ``MAJLIS_SECRET=x`` anyone could compute a WHIP grant and speak as the host without a
token; and a single node, which never redirects and so never issues grants, accepted them.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from majlis.config import MIN_SECRET_BYTES, Settings
from majlis.security.grants import WhipGrants
from majlis.security.shared_secret import SecretMismatch
from majlis.services import Services
from tests.support.client import Api, problem_of
from tests.support.sdp import GOOD
from tests.support.server import run_server
from tests.support.services import postgres_database, redis_url


@pytest.mark.parametrize("secret", ["x", "a" * (MIN_SECRET_BYTES - 1), "سر" * 7])
def test_a_short_secret_is_refused_before_start(secret: str) -> None:
    with pytest.raises(ValueError, match="secret must be at least 32 bytes"):
        Settings(secret=secret).validated()


def test_a_long_secret_and_the_generated_one_are_accepted(tmp_path: Path) -> None:
    Settings(secret=secrets.token_urlsafe(32)).validated()
    generated = Settings(data_dir=tmp_path).validated().resolved_secret()
    assert len(generated.encode()) >= MIN_SECRET_BYTES


def test_a_single_node_refuses_every_grant_even_one_signed_with_its_secret(
    tmp_path: Path,
) -> None:
    secret = secrets.token_urlsafe(32)
    with run_server(tmp_path, secret=secret) as server, closing(Api(server.base_url)) as api:
        host = api.sign_up("host")
        space = host.create_space("No grants here")
        grant = WhipGrants(secret).issue(space["id"], host.handle)  # as an attacker who knew it
        offer = httpx.post(
            f"{server.base_url}/api/v1/spaces/{space['id']}/whip?grant={grant}",
            content=GOOD.encode(),
            headers={"Content-Type": "application/sdp"},
        )
        problem_of(offer, 401)


# --- one secret for every node on a database (security/shared_secret.py) -----------------


def _settings(tmp: Path, database_url: str, **settings: Any) -> Settings:
    return Settings(
        data_dir=tmp, database_url=database_url, kdf_profile="test-cheapest", **settings
    ).validated()


def _secret_of(tmp: Path, database_url: str, **settings: Any) -> str:
    """Start a node's services on ``database_url`` and stop them (in one event loop): the
    secret it signs with, or SecretMismatch."""

    async def start_and_stop() -> str:
        services = await Services.start(_settings(tmp, database_url, **settings))
        try:
            return services.ctx.settings.resolved_secret()
        finally:
            await services.stop()

    return asyncio.run(start_and_stop())


def test_a_node_given_another_secret_than_its_database_s_refuses_to_start(
    tmp_path: Path,
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    first_secret, other = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    assert _secret_of(tmp_path / "a", database, secret=first_secret) == first_secret
    with pytest.raises(SecretMismatch, match="give every node the same MAJLIS_SECRET"):
        _secret_of(tmp_path / "b", database, secret=other)
    # Nor may a node given none sign with its own data directory's: that is another secret too.
    with pytest.raises(SecretMismatch, match="were given a MAJLIS_SECRET"):
        _secret_of(tmp_path / "c", database)
    assert _secret_of(tmp_path / "d", database, secret=first_secret) == first_secret


def test_nodes_without_a_secret_share_the_one_the_first_recorded(tmp_path: Path) -> None:
    """A cluster started without MAJLIS_SECRET signs with one secret, and a node whose data
    directory was lost (a container without a volume) keeps signing with it."""
    with postgres_database() as database:
        redis = redis_url()
        shared = _secret_of(tmp_path / "a", database, redis_url=redis, role="api")
        assert shared == (tmp_path / "a" / "secret").read_text().strip()
        assert len(shared) >= MIN_SECRET_BYTES
        assert _secret_of(tmp_path / "b", database, redis_url=redis, role="api") == shared
        assert _secret_of(tmp_path / "fresh", database) == shared  # its own was another
        with pytest.raises(SecretMismatch, match="leave MAJLIS_SECRET unset"):
            _secret_of(tmp_path / "c", database, redis_url=redis, secret=secrets.token_urlsafe(32))


def test_majlis_serve_says_why_it_will_not_start_and_exits_non_zero(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    _secret_of(tmp_path / "a", database, secret=secrets.token_urlsafe(32))
    done = subprocess.run(
        [sys.executable, "-m", "majlis", "serve", "--port", "0", "--data-dir", str(tmp_path / "b")],
        env={
            **os.environ,
            "MAJLIS_DATABASE_URL": database,
            "MAJLIS_SECRET": secrets.token_urlsafe(32),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    said = done.stdout + done.stderr
    assert "give every node the same MAJLIS_SECRET" in said
    assert "the node did not start" in done.stderr
