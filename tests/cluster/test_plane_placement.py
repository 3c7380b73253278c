"""Two media nodes (in this process) on one Redis and a fresh PostgreSQL: each live Space's room
runs on exactly one of them, a slow node is placed nothing new, and when a node stops the other
takes its Spaces over, the stream continuing after an EXT-X-DISCONTINUITY (the failover loop,
without killing processes: the slow acceptance test does that)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster.cluster import shared_node_settings
from tests.support.client import Api
from tests.support.server import RunningServer, run_server
from tests.support.services import postgres_database
from tests.support.wait import eventually

pytestmark = pytest.mark.redis


@pytest.fixture
def database_url() -> Iterator[str]:
    with postgres_database() as url:  # no other test's live Spaces to place
        yield url


def test_each_space_runs_on_one_node_and_moves_when_it_stops(
    tmp_path: Path, database_url: str
) -> None:
    shared: dict[str, Any] = {
        **shared_node_settings(database_url),
        "role": "media",
        "node_heartbeat_s": 0.25,
        "node_lease_s": 1.0,
        "slow_node_heartbeat_age_s": 0.9,
        "slow_node_loop_lag_ms": 5000,
    }
    with ExitStack() as stack:
        nodes: dict[str, RunningServer] = {}
        for name in ("a", "b"):
            nodes[name] = stack.enter_context(
                run_server(tmp_path / name, node_id=f"media-{name}", **shared)
            )
        a, b = nodes["a"], nodes["b"]
        stack.enter_context(closing(api := Api(a.base_url)))
        spaces = [api.sign_up("host").create_space(f"s{i}")["id"] for i in range(4)]

        def rooms(node: RunningServer) -> set[str]:
            return set(node.services.media.rooms)

        eventually(lambda: set(spaces) <= rooms(a) | rooms(b), message="not every Space got a room")
        assert rooms(a).isdisjoint(rooms(b)), (rooms(a), rooms(b))
        assert rooms(a) and rooms(b)  # least-loaded: 4 Spaces over 2 idle nodes spread out

        # A slow node (its loop lags far beyond slow_node_loop_lag_ms) is placed nothing new.
        b.services.heartbeat._lag.take = lambda: 60_000.0

        def lag_registered() -> bool:  # what a's placement reads of b, from b's heartbeat
            info = a.call(a.services.seams.registry.node("media-b"))
            return info is not None and info.load.loop_lag_ms >= 60_000

        eventually(lag_registered, message="the registry never had b's lag")
        later = [api.sign_up("late").create_space("late")["id"] for _ in range(2)]
        eventually(
            lambda: set(later) <= rooms(a), message="the new Spaces did not go to the fast node"
        )
        assert rooms(b).isdisjoint(later)
        del b.services.heartbeat._lag.take  # b is fast again (and must take a's Spaces below)

        moved = sorted(rooms(a))[0]
        hls = f"{b.base_url}/hls/{moved}/live.m3u8"  # b serves a's Space from the part store
        eventually(lambda: httpx.get(hls).status_code == 200, message="b never served a's Space")
        a.server.should_exit = True  # a clean stop: lease given up, streams detached (no ENDLIST)
        eventually(lambda: moved in rooms(b), message="b did not take the Space over")

        def continued() -> bool:
            text = httpx.get(hls).text
            return "#EXT-X-DISCONTINUITY\n" in text and "#EXT-X-ENDLIST" not in text

        eventually(continued, message="the stream did not continue after a discontinuity")
        # Every one of a's Spaces ends up on b; the last taken over may still be opening.
        eventually(lambda: set(spaces) <= rooms(b), message="b did not take every Space over")
