"""``serve --role``: an api node runs no rooms and holds no lease; a media node registers and
runs the rooms; both share PostgreSQL and Redis, as in a deployment. WHIP offered to the api
node is redirected (307) to the media node that runs the Space."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from majlis.bots.sources import ToneSource
from majlis.bots.speaker import SpeakerBot
from majlis.config import Settings
from majlis.seams.nodes.protocol import NodeInfo
from majlis.seams.nodes.redis import RedisNodeRegistry
from majlis.seams.placement.policy import PlacementPolicy
from majlis.seams.placement.redis import RedisPlacement
from majlis.services import Services
from tests.cluster.cluster import shared_node_settings
from tests.support.cli import run_majlis
from tests.support.client import Api, problem_of
from tests.support.sdp import GOOD
from tests.support.server import RunningServer, free_port, run_server, serve_process
from tests.support.services import redis_url
from tests.support.wait import eventually


async def _cluster_view(url: str, prefix: str, space_id: str) -> tuple[list[NodeInfo], str]:
    """(live nodes, where ``space_id`` is placed), as another API node would see them."""
    redis = Redis.from_url(url)
    try:
        registry = RedisNodeRegistry(redis, lease_s=5.0, prefix=prefix)
        # Slowness is not under test: a loaded CI machine can stall a node's loop for a second.
        lenient = PlacementPolicy(max_heartbeat_age_s=5.0, max_loop_lag_ms=60_000)
        placement = RedisPlacement(redis, registry, 60.0, lenient, prefix=prefix)
        return await registry.live_nodes(), await placement.place(space_id)
    finally:
        await redis.aclose()


@pytest.mark.redis
def test_an_api_node_runs_no_rooms_and_a_media_node_does(tmp_path: Path, pg_url: str) -> None:
    redis = redis_url()
    shared = shared_node_settings(pg_url, redis)
    with (
        run_server(tmp_path / "media", role="media", node_id="media-1", **shared) as media,
        run_server(tmp_path / "api", role="api", node_id="api-1", **shared) as api_node,
        closing(Api(api_node.base_url)) as api,
    ):
        assert api_node.services.heartbeat is None
        host = api.sign_up("host")
        space = host.create_space()  # live at once, through the api node
        eventually(
            lambda: space["id"] in media.services.media.rooms,
            message="the media node did not open the room",
        )
        assert api_node.services.media.rooms == {}
        _served_by(api_node.base_url, space["id"])
        # WHIP sent to the api node: 307 to the media node, which answers the offer.
        whip = host.post(f"/api/v1/spaces/{space['id']}/whip", content=GOOD.encode(), headers=SDP)
        assert whip.status_code == 307, whip.text
        location = whip.headers["location"]
        media_whip = f"{media.settings.resolved_node_url()}/api/v1/spaces/{space['id']}/whip"
        assert location.startswith(media_whip + "?grant=")
        # The grant stands in for the bearer token, which clients drop across origins...
        assert httpx.post(location, content=b"v=0\r\n", headers=SDP).status_code == 400
        # ...and only unaltered.
        forged = location.replace("grant=", "grant=x")
        problem_of(httpx.post(forged, content=b"v=0\r\n", headers=SDP), 401)
        asyncio.run(_speak_through(api_node.base_url, space["id"], host.token, media))

        view = _cluster_view(redis, shared["redis_prefix"], space["id"])
        nodes, placed = asyncio.run(view)
        assert [n.node_id for n in nodes] == ["media-1"] and placed == "media-1"
        assert nodes[0].url == media.settings.resolved_node_url()
        rooms = len(media.services.media.rooms)  # other tests' live Spaces share the database

        def reported() -> bool:  # its heartbeat reports the rooms
            nodes, _ = asyncio.run(_cluster_view(redis, shared["redis_prefix"], space["id"]))
            assert nodes[0].load.spaces == rooms, nodes[0].load
            return True

        eventually(reported, interval_s=0.2)


SDP = {"Content-Type": "application/sdp"}


def _served_by(base_url: str, space_id: str) -> None:
    """A node that runs no room serves the Space's LL-HLS from the shared part store: the
    playlist (blocking reload included), the init segment and a listed part."""
    hls = f"{base_url}/hls/{space_id}"

    def answered() -> httpx.Response:
        playlist = httpx.get(f"{hls}/live.m3u8")
        assert playlist.status_code == 200, playlist.text
        return playlist

    playlist = eventually(answered)
    assert playlist.text.startswith("#EXTM3U")
    hint = re.search(r'PRELOAD-HINT:TYPE=PART,URI="(\d+)\.(\d+)\.m4s"', playlist.text)
    assert hint is not None, playlist.text
    msn, part = hint.groups()
    blocked = httpx.get(f"{hls}/live.m3u8", params={"_HLS_msn": msn, "_HLS_part": part})
    assert blocked.status_code == 200 and f'URI="{msn}.{part}.m4s"' in blocked.text
    assert httpx.get(f"{hls}/{msn}.{part}.m4s").content[4:8] == b"moof"
    assert httpx.get(f"{hls}/init.mp4").content[4:8] == b"ftyp"


async def _speak_through(base_url: str, space_id: str, token: str, media: RunningServer) -> None:
    """A bot offering to the api node lands on the media node (following the 307) and hangs
    up there."""
    bot = SpeakerBot(base_url, space_id, token, ToneSource(440))
    await bot.connect()
    try:
        assert bot.location is not None and bot.location.startswith(media.base_url)
        room = media.services.media.rooms[space_id]
        assert len(room.sessions) == 1
    finally:
        await bot.close()
    assert room.sessions == {}


def test_serve_role_is_validated() -> None:
    bogus = run_majlis("serve", "--role", "edge")
    assert bogus.returncode == 2 and "invalid choice: 'edge'" in bogus.stderr
    alone = run_majlis("serve", "--role", "api", env={"MAJLIS_REDIS_URL": ""})
    assert alone.returncode == 2
    assert "role 'api' needs redis_url" in alone.stderr and "Traceback" not in alone.stderr
    from_env = run_majlis("serve", env={"MAJLIS_ROLE": "cdn"})
    assert from_env.returncode == 2 and "role must be one of api, media, all" in from_env.stderr
    leases = run_majlis("serve", env={"MAJLIS_NODE_LEASE_S": "1", "MAJLIS_NODE_HEARTBEAT_S": "1"})
    assert leases.returncode == 2 and "node_lease_s must be at least twice" in leases.stderr
    assert "--role" in run_majlis("serve", "--help").stdout


@pytest.mark.redis
def test_serve_role_api_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flag reaches the running node: ``majlis serve --role api`` refuses WHIP with 421."""
    monkeypatch.setenv("MAJLIS_REDIS_URL", redis_url())
    monkeypatch.setenv("MAJLIS_REDIS_PREFIX", f"majlis-test-{secrets.token_hex(4)}:")
    port = free_port()
    process = serve_process(tmp_path, port, "--role", "api", "--node-id", "api-cli")
    try:
        with closing(Api(f"http://127.0.0.1:{port}")) as api:
            host = api.sign_up("host")
            space = host.create_space()
            whip = host.post(
                f"/api/v1/spaces/{space['id']}/whip", content=GOOD.encode(), headers=SDP
            )
            # No media node in this cluster: nowhere to send the offer; try again later.
            assert problem_of(whip, 503)["type"].endswith(":no-media-node")
            assert int(whip.headers["retry-after"]) >= 1
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_single_node_mode_is_a_cluster_of_one(tmp_path: Path) -> None:
    """No Redis: the node registers itself in memory and every Space is placed on it."""
    settings = Settings(data_dir=tmp_path, kdf_profile="test-cheapest", node_id="solo")

    async def scenario() -> None:
        services = await Services.start(settings)
        try:
            assert services.seams is not None and services.heartbeat is not None
            assert [n.node_id for n in await services.seams.registry.live_nodes()] == ["solo"]
            assert await services.seams.placement.place("any-space") == "solo"
        finally:
            await services.stop()
        assert await services.seams.registry.live_nodes() == []  # left on stop

    asyncio.run(scenario())


@pytest.mark.redis
def test_a_live_space_whose_room_is_not_open_yet_is_waited_for_not_404(
    tmp_path: Path, pg_url: str
) -> None:
    """A player asking in the moment between going live and the room opening waits for it; when
    no room comes (here: no media node at all) it gets a retryable 503, never a fatal 404."""
    shared = shared_node_settings(pg_url)
    with (
        run_server(tmp_path / "api", role="api", node_id="api-alone", **shared) as api_node,
        closing(Api(api_node.base_url)) as api,
    ):
        space = api.sign_up("early").create_space()
        started = time.monotonic()
        waited = api.http.get(f"/hls/{space['id']}/live.m3u8")
        assert time.monotonic() - started >= 2.5  # it waited for the room (STARTING_WAIT_S)
        problem_of(waited, 503)
        assert waited.headers["Retry-After"] == "1"
        started = time.monotonic()
        problem_of(api.http.get("/hls/unknown/live.m3u8"), 404)
        assert time.monotonic() - started < 1.0  # unknown Spaces are not waited for
