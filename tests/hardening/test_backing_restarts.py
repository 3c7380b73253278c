"""Issue 14: Redis and PostgreSQL restart under a live Space on a 4-node cluster (2 API nodes,
2 media nodes), with two speakers on stage and joined listeners beating.

During each outage, what needs the service that is down answers 503 + Retry-After (never a
500), and the audio goes on: the room keeps mixing, both speakers keep hearing each other, the
recording keeps growing. After, everything recovers by itself: presence is back within one
heartbeat interval of Redis returning (empty: no persistence), sign-in and new Spaces work
again once PostgreSQL is back, and nothing durable is lost (the Space, its stage, the accounts,
a recording without a gap).

The Redis and the PostgreSQL here are the test's own servers (tests/cluster/redis_process.py,
postgres_process.py), never the machine's: their outages cut no other test.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from majlis.bots.sources import ToneSource
from majlis.bots.speaker import SpeakerBot
from majlis.media.recording import RecordingIndex
from tests.cluster.cluster import Cluster, placed, running_cluster
from tests.cluster.postgres_process import PrivatePostgres, private_postgres
from tests.cluster.redis_process import start_redis, stop_redis
from tests.support.client import PASSWORD, Api, User, on_stage
from tests.support.presence import Listeners, counted
from tests.support.server import free_port
from tests.support.wait import eventually, eventually_async

pytestmark = [pytest.mark.slow, pytest.mark.redis]

LISTENERS = 20
INTERVAL_S = 5  # the listeners' heartbeat interval (the smallest Settings allows)
SLACK_S = 3.0  # the Retry-After (at most 3 s) of a heartbeat refused while Redis was down
OUTAGE_S = 2.0
PART_S = 0.256


def _refused_with_retry_after(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["Content-Type"].startswith("application/problem+json")


async def _audio_goes_on(bots: list[SpeakerBot], seconds: float) -> None:
    """Both speakers keep hearing the stage's mix (50 frames a second) through the outage."""
    before = [bot.frames_received for bot in bots]
    await asyncio.sleep(seconds)  # the outage under test lasts this long
    heard = [bot.frames_received - b for bot, b in zip(bots, before, strict=True)]
    assert all(h >= 25 * seconds for h in heard), heard


def _redis_url(port: int) -> str:
    return f"redis://127.0.0.1:{port}/0"


def _count(api: Api, space_id: str) -> int | None:
    response = api.http.get(f"/api/v1/spaces/{space_id}/snapshot")
    return response.json()["listener_count"] if response.status_code == 200 else None


async def _show(cluster: Cluster, redis_port: int, pg: PrivatePostgres, tmp_path: Path) -> None:
    api, other = Api(cluster.url("api-1")), Api(cluster.url("api-2"))
    with closing(api), closing(other):
        host, guest = api.sign_up("host"), api.sign_up("guest")
        space_id = host.create_space("restarts", record=True)["id"]
        on_stage(host, guest, space_id)
        went_live = time.monotonic()
        stage = api.stage_of(space_id)
        owner = await eventually_async(
            lambda: placed(cluster.prefix, space_id, _redis_url(redis_port)), message="unplaced"
        )
        bots = [
            SpeakerBot(cluster.url("api-2"), space_id, user.token, ToneSource(hz), reconnect=True)
            for user, hz in ((host, 440.0), (guest, 660.0))
        ]
        for bot in bots:
            await bot.connect()
        await eventually_async(lambda: all(b.frames_received > 50 for b in bots), message="mute")
        joins = [api.http.post(f"/api/v1/spaces/{space_id}/join") for _ in range(LISTENERS)]
        assert all(j.status_code == 200 for j in joins), joins[0].text
        urls = [str(j.json()["heartbeat_url"]) for j in joins]

        with Listeners(cluster.url("api-1"), urls, INTERVAL_S) as listeners:
            await asyncio.to_thread(
                eventually,
                lambda: counted(_count(api, space_id), LISTENERS),
                message="the listeners were never all counted",
            )

            # --- Redis goes away, and comes back empty -------------------------------------
            stop_redis(_redis[0])
            _refused_with_retry_after(other.http.post(f"/api/v1/spaces/{space_id}/join"))
            await _audio_goes_on(bots, OUTAGE_S)
            _redis[0] = start_redis(redis_port, tmp_path)
            back = time.monotonic()
            await asyncio.to_thread(
                eventually,
                lambda: counted(_count(api, space_id), LISTENERS),
                timeout_s=INTERVAL_S + SLACK_S,
                message="presence was not back within one heartbeat interval",
            )
            print(f"presence back {time.monotonic() - back:.2f} s after Redis restarted")
            assert listeners.refused >= 1  # heartbeats did meet the outage
            assert other.http.post(f"/api/v1/spaces/{space_id}/join").status_code == 200
            now_on = await eventually_async(
                lambda: placed(cluster.prefix, space_id, _redis_url(redis_port)),
                message="never placed again",
            )
            # The room stayed where it ran (its node claimed it back): nobody reconnected.
            assert now_on == owner, (owner, now_on)
            assert [b.reconnects for b in bots] == [0, 0]
            await _audio_goes_on(bots, 1.0)

            # --- PostgreSQL crashes, and starts again --------------------------------------
            pg.crash()
            _refused_with_retry_after(
                other.http.post(
                    "/api/v1/sessions", json={"handle": host.handle, "password": PASSWORD}
                )
            )
            refused = host.post("/api/v1/spaces", json={"title": "while the database is down"})
            _refused_with_retry_after(refused)
            await _audio_goes_on(bots, OUTAGE_S)
            pg.start()
            back = time.monotonic()

            def signs_in() -> User:
                return other.sign_in(host.handle)

            await asyncio.to_thread(eventually, signs_in, ignoring=(AssertionError,))
            print(f"sign-in back {time.monotonic() - back:.2f} s after PostgreSQL restarted")
            newcomer = other.sign_up("newcomer")  # writes work again
            second = newcomer.create_space("after the outage")
            assert second["state"] == "live"
            assert newcomer.post(f"/api/v1/spaces/{second['id']}/end").is_success

        # Nothing durable lost.
        assert api.space(space_id)["state"] == "live"
        assert api.stage_of(space_id) == stage
        assert api.http.get(f"/api/v1/accounts/{guest.handle}").status_code == 200
        for bot in bots:
            await bot.close()
        ended = host.post(f"/api/v1/spaces/{space_id}/end")
        assert ended.status_code == 200, ended.text
        show_s = time.monotonic() - went_live
        recording = cluster.media_dir / "recordings" / f"{space_id}.m4a"
        await asyncio.to_thread(
            eventually, lambda: recording.exists() and RecordingIndex.read(recording).parts
        )
        recorded_s = len(RecordingIndex.read(recording).parts) * PART_S
        print(f"show {show_s:.1f} s, recorded {recorded_s:.1f} s")
        assert recorded_s >= show_s - 3.0, (recorded_s, show_s)  # no gap for the outages


#: The test's Redis server process, replaced when it restarts.
_redis: list[subprocess.Popen[bytes]] = []


def test_redis_and_postgresql_restart_under_a_live_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAJLIS_HEARTBEAT_INTERVAL_S", str(INTERVAL_S))
    redis_port = free_port()
    _redis[:] = [start_redis(redis_port, tmp_path)]
    try:
        with (
            private_postgres(free_port()) as pg,
            running_cluster(tmp_path, database=pg.url, redis=_redis_url(redis_port)) as cluster,
        ):
            asyncio.run(_show(cluster, redis_port, pg, tmp_path))
    finally:
        if _redis[0].poll() is None:
            stop_redis(_redis[0])
