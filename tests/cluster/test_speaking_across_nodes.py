"""Who is speaking, seen from every node: a bot talks on the media node, and the snapshot
answered by an API node that runs no room lists it within a couple of seconds, then drops it
once the bot hangs up (the media node shares the set through Redis, ``live/speaking.py``)."""

from __future__ import annotations

import asyncio
from contextlib import closing
from pathlib import Path

import pytest

from majlis.bots.sources import ToneSource
from majlis.bots.speaker import SpeakerBot
from majlis.seams.speaking.protocol import SPEAKING_TTL_S
from tests.cluster.cluster import shared_node_settings
from tests.support.client import Api
from tests.support.server import RunningServer, run_server
from tests.support.wait import eventually, eventually_async

#: Talking is detected within ~0.5 s and the snapshot is cached 1 s; the rest is slack for a
#: loaded machine. A bound under test (the docstring's "within a couple of seconds"), so not
#: the waits' generous default.
SEEN_WITHIN_S = 6.0


def _speaking_on(api: Api, space_id: str) -> list[str]:
    response = api.http.get(f"/api/v1/spaces/{space_id}/snapshot")
    assert response.status_code == 200, response.text
    speaking: list[str] = response.json()["speaking"]
    return speaking


async def _says(api: Api, space_id: str, wanted: list[str]) -> bool:
    """Whether the API node's snapshot says exactly ``wanted`` are speaking."""
    seen = await asyncio.to_thread(_speaking_on, api, space_id)
    assert seen == wanted, f"the API node says {seen} are speaking, not {wanted}"
    return True


async def _talk(api: Api, token: str, handle: str, space_id: str, media: RunningServer) -> None:
    bot = SpeakerBot(api.base_url, space_id, token, ToneSource(440))
    await bot.connect()
    try:
        assert bot.location is not None and bot.location.startswith(media.base_url)
        await eventually_async(lambda: _says(api, space_id, [handle]), timeout_s=SEEN_WITHIN_S)
        # Past the set's TTL (3 s): the media node refreshes it while the bot keeps talking.
        await asyncio.sleep(SPEAKING_TTL_S + 1.5)
        assert await asyncio.to_thread(_speaking_on, api, space_id) == [handle]
    finally:
        await bot.close()
    await eventually_async(lambda: _says(api, space_id, []), timeout_s=SEEN_WITHIN_S)


@pytest.mark.redis
def test_the_api_node_snapshot_lists_who_speaks_on_the_media_node(
    tmp_path: Path, pg_url: str
) -> None:
    shared = shared_node_settings(pg_url)
    with (
        run_server(tmp_path / "media", role="media", node_id="media-1", **shared) as media,
        run_server(tmp_path / "api", role="api", node_id="api-1", **shared) as api_node,
        closing(Api(api_node.base_url)) as api,
    ):
        host = api.sign_up("host")
        space = host.create_space()
        eventually(
            lambda: space["id"] in media.services.media.rooms,
            message="the media node did not open the room",
        )
        assert api_node.services.media.rooms == {}
        assert _speaking_on(api, space["id"]) == []
        asyncio.run(_talk(api, host.token, host.handle, space["id"], media))
