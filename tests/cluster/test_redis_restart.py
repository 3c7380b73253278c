"""Redis restarts empty: presence is rebuilt by the listeners' own heartbeats within one
heartbeat interval, and nothing durable is lost (Spaces, accounts and stages live in PostgreSQL).

Why this holds by design: presence is soft state (a listener counted is one that beat within
about two intervals), so an empty Redis only means "nobody has beaten yet"; every listener beats
once per interval, so one interval after Redis is back, every one of them is counted again.

The Redis here is the test's own ``redis-server`` (tests/cluster/redis_process.py), never the
machine's. The listeners behave like listen.js: one heartbeat per interval, spread over the
interval, and on a 503 they wait the ``Retry-After`` they were given.
"""

from __future__ import annotations

import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.cluster.redis_process import start_redis, stop_redis
from tests.support.client import Api, on_stage
from tests.support.presence import Listeners, counted
from tests.support.server import free_port, run_server
from tests.support.services import postgres_database
from tests.support.wait import eventually

pytestmark = pytest.mark.redis

LISTENERS = 20
INTERVAL_S = 5  # the smallest heartbeat interval Settings allows
SLACK_S = 3.0  # Retry-After (at most 3 s) of a heartbeat refused while Redis was down


def _listener_count(http: httpx.Client, space_id: str) -> int | None:
    response = http.get(f"/api/v1/spaces/{space_id}/snapshot")
    if response.status_code != 200:
        return None
    count: int = response.json()["listener_count"]
    return count


def test_presence_is_rebuilt_within_one_heartbeat_after_redis_restarts_empty(
    tmp_path: Path,
) -> None:
    port = free_port()
    redis = start_redis(port, tmp_path)
    try:
        with (
            postgres_database() as database_url,
            run_server(
                tmp_path,
                database_url,
                redis_url=f"redis://127.0.0.1:{port}/0",
                heartbeat_interval_s=INTERVAL_S,
            ) as server,
            closing(Api(server.base_url)) as api,
        ):
            host, guest = api.sign_up("host"), api.sign_up("guest")
            space = host.create_space("survives redis")
            space_id = space["id"]
            on_stage(host, guest, space_id)
            stage = api.stage_of(space_id)
            joins = [api.http.post(f"/api/v1/spaces/{space_id}/join") for _ in range(LISTENERS)]
            assert all(j.status_code == 200 for j in joins), joins[0].text
            assert joins[0].json()["heartbeat_interval_s"] == INTERVAL_S
            urls = [str(j.json()["heartbeat_url"]) for j in joins]

            with Listeners(server.base_url, urls, INTERVAL_S) as listeners:
                eventually(
                    lambda: counted(_listener_count(api.http, space_id), LISTENERS),
                    interval_s=0.2,
                    message="the listeners were never all counted",
                )

                stop_redis(redis)
                # The outage under test, a second long: some heartbeats are refused (503).
                time.sleep(1.0)
                redis = start_redis(port, tmp_path)  # empty: no persistence
                restarted = time.monotonic()
                counts: list[int | None] = []

                def all_counted_again() -> bool:
                    count = _listener_count(api.http, space_id)
                    if counted(count, LISTENERS):
                        return True
                    counts.append(count)
                    return False

                eventually(  # within the bound under test: one interval, plus a Retry-After
                    all_counted_again,
                    timeout_s=INTERVAL_S + SLACK_S,
                    interval_s=0.2,
                    message=lambda: f"not all counted again; the last counts: {counts[-10:]}",
                )
                took = time.monotonic() - restarted
                print(f"{LISTENERS} listeners counted again {took:.2f} s after Redis restarted")
                print(f"counts read meanwhile: {counts}; heartbeats refused: {listeners.refused}")

            # Nothing durable was lost: the Space, its stage and the accounts are in PostgreSQL.
            assert api.space(space_id)["state"] == "live"
            assert api.stage_of(space_id) == stage
            assert api.sign_in(host.handle).token
            assert api.http.get(f"/api/v1/accounts/{guest.handle}").status_code == 200
    finally:
        if redis.poll() is None:
            stop_redis(redis)
