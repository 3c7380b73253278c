"""WHIP answers CORS for the deployment's own origin only (api/middleware/whip_cors.py), over
real HTTP.

A browser follows a WHIP 307 to another node only if that node answers the preflight and marks
its answer readable; any other origin must stay same-origin (no foreign page speaks with a
visitor's token), and a node without MAJLIS_PUBLIC_URL answers no CORS at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from majlis.api.middleware.whip_cors import origin_of
from tests.support.client import Api, problem_of
from tests.support.server import RunningServer, run_server

PUBLIC = "https://Spaces.Example.org"
ORIGIN = "https://spaces.example.org"
OFFER = "/api/v1/spaces/abcdefgh/whip"
SESSION = "/api/v1/spaces/abcdefgh/whip/s3ss10n"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with run_server(tmp_path_factory.mktemp("cors"), public_url=f"{PUBLIC}/") as running:
        yield running


def preflight(base: str, path: str, origin: str, method: str = "POST") -> httpx.Response:
    return httpx.options(
        f"{base}{path}",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )


@pytest.mark.parametrize(("path", "method"), [(OFFER, "POST"), (SESSION, "DELETE")])
def test_the_public_origin_may_offer_and_hang_up_cross_origin(
    node: RunningServer, path: str, method: str
) -> None:
    answer = preflight(node.base_url, path, ORIGIN, method)
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert method in answer.headers["access-control-allow-methods"]
    allowed = answer.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert answer.headers["vary"] == "Origin"


def test_answers_and_errors_are_readable_by_the_public_origin_with_location_exposed(
    node: RunningServer,
) -> None:
    api = Api(node.base_url)
    try:
        user = api.sign_up("cors")
        # Unsigned, and signed in for a Space that does not exist: both problems readable.
        anonymous = httpx.post(f"{node.base_url}{OFFER}", headers={"Origin": ORIGIN}, content=b"")
        problem_of(anonymous, 401)
        missing = httpx.post(
            f"{node.base_url}{OFFER}",
            headers={**user.headers, "Origin": ORIGIN, "Content-Type": "application/sdp"},
            content=b"v=0\r\n",
        )
        assert missing.status_code in (400, 404), missing.text
        for answer in (anonymous, missing):
            assert answer.headers["access-control-allow-origin"] == ORIGIN
            exposed = answer.headers["access-control-expose-headers"]
            assert "Location" in exposed and "Retry-After" in exposed
    finally:
        api.close()


def test_another_origin_and_other_routes_get_no_cors(node: RunningServer) -> None:
    foreign = preflight(node.base_url, OFFER, "https://evil.example")
    assert "access-control-allow-origin" not in foreign.headers
    assert foreign.status_code >= 400
    plain = httpx.post(f"{node.base_url}{OFFER}", headers={"Origin": "https://evil.example"})
    assert plain.status_code == 401 and "access-control-allow-origin" not in plain.headers
    other = httpx.get(f"{node.base_url}/api/v1/spaces", headers={"Origin": ORIGIN})
    assert other.status_code == 200 and "access-control-allow-origin" not in other.headers


def test_without_a_public_url_a_node_answers_no_cors(tmp_path: Path) -> None:
    with run_server(tmp_path) as plain:
        answer = preflight(plain.base_url, OFFER, ORIGIN)
        assert "access-control-allow-origin" not in answer.headers
        offer = httpx.post(f"{plain.base_url}{OFFER}", headers={"Origin": plain.base_url})
        assert "access-control-allow-origin" not in offer.headers


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Spaces.example.org/", "https://spaces.example.org"),
        ("http://127.0.0.1:8080/base", "http://127.0.0.1:8080"),
        ("", None),
        ("/relative", None),
    ],
)
def test_origin_of_a_public_url(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin
