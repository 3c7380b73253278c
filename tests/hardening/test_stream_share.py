"""Issue 14, finding 11: one client could hold every event-stream slot of a node. Now a client
address holds at most ``max_streams_per_client`` streams (429 beyond it, with Retry-After),
and everyone else keeps theirs."""

from __future__ import annotations

from contextlib import ExitStack, closing
from pathlib import Path

import httpx

from tests.support.client import Api, problem_of
from tests.support.server import run_server
from tests.support.sse import EventReader
from tests.support.wait import eventually


def test_one_address_holds_its_share_of_streams_and_no_more(tmp_path: Path) -> None:
    with (
        run_server(tmp_path, max_streams_per_client=3, trusted_proxies="127.0.0.1/32") as server,
        closing(Api(server.base_url)) as api,
        ExitStack() as streams,
    ):
        space = api.sign_up("host").create_space("Crowded")["id"]
        path = f"/api/v1/spaces/{space}/events"
        held = [streams.enter_context(closing(EventReader(server.base_url, path))) for _ in "abc"]
        assert {reader.status for reader in held} == {200}
        refused = httpx.get(server.base_url + path)
        problem_of(refused, 429)
        assert int(refused.headers["retry-after"]) >= 1
        assert "close one first" in refused.json()["detail"]
        # Another listener (here behind a trusted edge) is not this one's neighbour.
        other = EventReader(server.base_url, path, headers={"X-Forwarded-For": "198.51.100.9"})
        with closing(other):
            assert other.status == 200
        # Closing one gives the slot back.
        held.pop().close()

        def opens() -> bool:
            with httpx.stream("GET", server.base_url + path) as answer:
                return answer.status_code == 200

        eventually(opens, message="a closed stream never gave its slot back")
