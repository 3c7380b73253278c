"""Issue 14, finding 11 (Allow): a 405 names every method the address takes (RFC 9110 §15.5.6:
"The origin server MUST generate an Allow header field ... containing a list of the target
resource's currently supported methods"), not just those of the first route that matched."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing

import httpx
import pytest

from tests.support.client import problem_of
from tests.support.server import RunningServer, run_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with run_server(tmp_path_factory.mktemp("allow")) as running:
        yield running


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/v1/spaces", "GET, HEAD, POST"),
        ("PATCH", "/api/v1/spaces/abc/reminder", "DELETE, GET, HEAD, POST"),
        ("PUT", "/api/v1/sessions", "GET, HEAD, POST"),
    ],
)
def test_a_405_lists_every_method_of_the_address(
    server: RunningServer, method: str, path: str, allow: str
) -> None:
    with closing(httpx.Client(base_url=server.base_url)) as http:
        response = http.request(method, path)
        problem_of(response, 405)
        assert response.headers["allow"] == allow
