"""The core end-to-end scenarios, run the same way on one process and on a cluster of 2 API +
2 media nodes (processes, PostgreSQL + Redis; tests/cluster/cluster.py).

Each scenario gets two API addresses, ``front`` and ``other``: on one process both are that
process; on the cluster they are the two API nodes, neither of which runs a room, so every
request below crosses nodes: listeners join on one node and beat on the other, speakers offer
to an API node and are redirected (307) to the Space's media node, the program is heard from
an API node through the shared part store, and the replay is read back from an API node.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass

import httpx
import pytest

from majlis.bots.sources import ToneSource
from majlis.bots.speaker import SpeakerBot
from tests.cluster.cluster import running_cluster
from tests.media.tones import decode_mp4, tone_strength
from tests.support.client import Api, on_stage, wait_for_live_stream, wait_for_new_segment
from tests.support.presence import counted
from tests.support.program import PRESENT, fetch_vod, hears_only, latest_program
from tests.support.server import run_server
from tests.support.services import postgres_database, redis_url
from tests.support.wait import eventually, eventually_async

pytestmark = [pytest.mark.slow, pytest.mark.redis]

LISTENERS = 12


@dataclass(frozen=True)
class Deployment:
    front: str  # where the host and listeners start
    other: str  # another API node (the same process on one node)
    media: tuple[str, ...]  # where a WHIP offer may be redirected to


@pytest.fixture(scope="module", params=["single-process", "cluster"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp(request.param)
    if request.param == "single-process":
        with (
            postgres_database() as database_url,
            run_server(root, database_url, redis_url=redis_url()) as server,
        ):
            yield Deployment(server.base_url, server.base_url, (server.base_url,))
    else:
        with running_cluster(root) as cluster:
            media = (cluster.url("media-1"), cluster.url("media-2"))
            yield Deployment(cluster.url("api-1"), cluster.url("api-2"), media)


def _listener_count(http: httpx.Client, space_id: str) -> int:
    response = http.get(f"/api/v1/spaces/{space_id}/snapshot")
    assert response.status_code == 200, response.text
    count: int = response.json()["listener_count"]
    return count


def test_listeners_join_beat_and_are_counted_on_every_node(deployment: Deployment) -> None:
    with closing(Api(deployment.front)) as front, closing(Api(deployment.other)) as other:
        space_id = front.sign_up("host").create_space("counted")["id"]
        joins = [front.http.post(f"/api/v1/spaces/{space_id}/join") for _ in range(LISTENERS)]
        assert all(j.status_code == 200 for j in joins), joins[0].text
        for join in joins:  # each beats on the other node
            beat = other.http.post(str(join.json()["heartbeat_url"]))
            assert beat.status_code == 204, beat.text

        # Both nodes read the one estimate in Redis, so they agree; it is a HyperLogLog's.
        def agreed() -> bool:  # once their snapshots, cached for a second per node, are fresh
            counts = [_listener_count(a.http, space_id) for a in (front, other)]
            assert counts[0] == counts[1] and counted(counts[0], LISTENERS), counts
            return True

        eventually(agreed, interval_s=0.2)


def _speaking(http: httpx.Client, space_id: str) -> list[str]:
    response = http.get(f"/api/v1/spaces/{space_id}/snapshot")
    assert response.status_code == 200, response.text
    handles: list[str] = response.json()["speaking"]
    return handles


async def _show(deployment: Deployment) -> None:
    front = Api(deployment.front)
    with closing(front):
        host, guest = front.sign_up("host"), front.sign_up("guest")
        space_id = host.create_space("mixed", record=True)["id"]
        on_stage(host, guest, space_id)
        await asyncio.to_thread(wait_for_live_stream, front.http, space_id, 30)
        # Speakers offer to the other API node; on a cluster it redirects them to the room.
        a = SpeakerBot(deployment.other, space_id, host.token, ToneSource(440))
        b = SpeakerBot(deployment.other, space_id, guest.token, ToneSource(660))
        try:
            await a.connect()
            await b.connect()
            for bot in (a, b):
                assert bot.location is not None
                assert bot.location.startswith(deployment.media), bot.location
            await eventually_async(  # the connections are up: media flows both ways
                lambda: a.frames_received and b.frames_received, message="no mix reached the bots"
            )
            # Past a whole segment of both talking that began a segment after their media did,
            # so the speakers' own ears have caught up too.
            await asyncio.to_thread(wait_for_new_segment, front.http, space_id, 2)
            # Their ears now, before this test's decoding and FFTs hold up the bots' loop.
            a_ear, b_ear = a.heard(2.0), b.heard(2.0)
            # An HLS listener on the front API node hears both, mixed once.
            program = await asyncio.to_thread(latest_program, deployment.front, space_id)
            pcm, rate = await asyncio.to_thread(decode_mp4, program)
            assert tone_strength(pcm, rate, 440) > PRESENT
            assert tone_strength(pcm, rate, 660) > PRESENT
            hears_only(a_ear, present=660, absent=440)  # mix-minus
            hears_only(b_ear, present=440, absent=660)
            # Who is speaking is known on the API node too (the live seam, not the room's dict).
            speakers = sorted([host.handle, guest.handle])

            async def both_listed() -> bool:
                return sorted(await asyncio.to_thread(_speaking, front.http, space_id)) == speakers

            await eventually_async(both_listed, message="the snapshot does not list both speakers")

            # Taken off the stage (on the front node), the guest's WHIP session is hung up
            # by the media node.
            removed = host.delete(f"/api/v1/spaces/{space_id}/stage/{guest.handle}")
            assert removed.status_code == 204, removed.text
            await eventually_async(
                lambda: b._pc is not None and b._pc.connectionState in ("closed", "failed"),
                message="the guest's connection stayed up",
            )
        finally:
            await a.close(hang_up=False)
            await b.close(hang_up=False)

        ended = host.post(f"/api/v1/spaces/{space_id}/end")
        assert ended.status_code == 200, ended.text
        replay_url = ended.json()["replay_url"]
        assert replay_url == f"/api/v1/spaces/{space_id}/replay.m3u8"
    # The replay plays from the other API node.
    # On a cluster the media node finishes the file a moment after the end.
    url = f"{deployment.other}{replay_url}"

    async def available() -> bool:
        return (await asyncio.to_thread(httpx.get, url)).status_code == 200

    await eventually_async(available, message="the replay never became available")
    text, media = await asyncio.to_thread(fetch_vod, deployment.other, replay_url)
    assert text.rstrip().endswith("#EXT-X-ENDLIST")
    pcm, rate = await asyncio.to_thread(decode_mp4, media)
    assert pcm.size / rate > 4.0
    assert tone_strength(pcm, rate, 440) > PRESENT


def test_two_speakers_heard_through_an_api_node_then_off_stage_then_replay(
    deployment: Deployment,
) -> None:
    asyncio.run(_show(deployment))
