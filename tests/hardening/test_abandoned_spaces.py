"""Issue 14, finding 5: a Space does not outlive its people.

A live Space whose stage nobody is connected to ends itself after ``abandoned_space_end_s``
(10 minutes by default; 1 s here) and its replay is finalized, as when the host ends it. A
connected speaker keeps it live however long; the count starts when the last one leaves.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.media.bot_thread import BotThread
from tests.support.client import Api, wait_for_live_stream
from tests.support.server import RunningServer, run_server
from tests.support.wait import eventually

AFTER_S = 1.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with run_server(tmp_path, abandoned_space_end_s=AFTER_S) as running:
        yield running


def _space(api: Api, space_id: str) -> dict[str, Any]:
    response = api.http.get(f"/api/v1/spaces/{space_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_live_space_nobody_is_on_the_stage_of_ends_and_its_replay_is_final(
    server: RunningServer,
) -> None:
    with closing(Api(server.base_url)) as api:
        host = api.sign_up("walked_away")
        space = host.create_space("Nobody here")
        wait_for_live_stream(api.http, space["id"])
        ended = eventually(
            lambda: (s := _space(api, space["id"]))["state"] == "ended" and s,
            message="the abandoned Space did not end",
        )
        assert ended["replay_url"], ended
        replay = api.http.get(ended["replay_url"])
        assert replay.status_code == 200 and "#EXT-X-ENDLIST" in replay.text


def test_a_speaker_keeps_a_space_live_and_the_count_starts_when_they_leave(
    server: RunningServer,
) -> None:
    watch = server.services.media.abandoned
    with closing(Api(server.base_url)) as api:
        host = api.sign_up("still_here")
        space = host.create_space("Someone here")
        bot = BotThread(server.base_url, space["id"], host.token, 440)
        try:
            eventually(lambda: host.handle in server.services.media.rooms[space["id"]].sessions)
            # Enough passes of the watch to have ended an empty stage twice over.
            passes = watch.passes + 2 * math.ceil(AFTER_S / watch.check_s) + 1
            eventually(lambda: watch.passes >= passes, message="the watch made no passes")
            assert _space(api, space["id"])["state"] == "live"
        finally:
            bot.close()
        eventually(
            lambda: _space(api, space["id"])["state"] == "ended",
            message="the Space did not end after its last speaker left",
        )
