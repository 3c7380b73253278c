"""Issue 14, finding 8: a weak secret is refused, and a grant is honoured only where grants are
issued.

With ``MAJLIS_SECRET=x`` anyone could compute a WHIP grant and speak as the host without a
token; and a single node, which never redirects and so never issues grants, accepted them.
"""

from __future__ import annotations

import secrets
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from majlis.config import MIN_SECRET_BYTES, Settings
from majlis.security.grants import WhipGrants
from tests.support.client import Api, problem_of
from tests.support.sdp import GOOD
from tests.support.server import run_server


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
