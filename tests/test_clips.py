"""Clips (issue 15; API.md "To build"): anyone signed in clips the last seconds of a live
Space or a range of its replay, unless the host turned clips off; each clip is an .m4a cut from
the recording (tests/media/test_clip_cut.py checks the cut itself), with a page; its author or
the host deletes it. Bad input is a problem+json that changes nothing."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import av
import pytest

from tests.support.client import Api, User, problem_of
from tests.support.clips import on_air
from tests.support.server import RunningServer

pytestmark = pytest.mark.usefixtures("end_live_spaces")

CLIP_KEYS = {
    "id",
    "space_id",
    "space",
    "account",
    "start",
    "duration",
    "created_at",
    "page_url",
    "audio_url",
    "card_url",
    "embed_url",
}


def _clips(space_id: str) -> str:
    return f"/api/v1/spaces/{space_id}/clips"


def _clip(user: User, space_id: str, **body: Any) -> dict[str, Any]:
    made = user.post(_clips(space_id), json=body)
    assert made.status_code == 201, made.text
    clip: dict[str, Any] = made.json()
    return clip


def _audio_seconds(api: Api, clip: dict[str, Any]) -> float:
    got = api.http.get(clip["audio_url"])
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "audio/mp4"
    with av.open(io.BytesIO(got.content)) as container:
        samples = sum(frame.samples for frame in container.decode(audio=0))
        rate = container.streams.audio[0].rate
    return float(samples / rate)


def test_a_listener_clips_the_last_seconds_of_a_live_space(api: Api, server: RunningServer) -> None:
    host, fan, other = api.sign_up("clh"), api.sign_up("clf"), api.sign_up("clo")
    space = host.create_space("Clip me")
    on_air(server, space["id"], 2.5)
    clip = _clip(fan, space["id"], seconds=2)
    assert set(clip) == CLIP_KEYS
    assert clip["account"]["handle"] == fan.handle and clip["space_id"] == space["id"]
    assert clip["space"] == {"id": space["id"], "title": "Clip me", "state": "live"}
    assert clip["duration"] == pytest.approx(2.0, abs=0.05)
    assert clip["page_url"] == f"/clips/{clip['id']}"
    assert _audio_seconds(api, clip) == pytest.approx(2.0, abs=0.05)
    assert api.http.get(f"/api/v1/clips/{clip['id']}").json() == clip
    assert [c["id"] for c in api.http.get(_clips(space["id"])).json()["items"]] == [clip["id"]]
    # Only its author and the host delete it; then it is gone, audio and all.
    problem_of(other.delete(f"/api/v1/clips/{clip['id']}"), 403)
    assert host.delete(f"/api/v1/clips/{clip['id']}").status_code == 204
    problem_of(api.http.get(f"/api/v1/clips/{clip['id']}"), 404)
    problem_of(api.http.get(clip["audio_url"]), 404)
    assert not (Path(server.settings.data_dir) / "clips" / f"{clip['id']}.m4a").exists()
    mine = _clip(fan, space["id"], seconds=1)
    assert fan.delete(f"/api/v1/clips/{mine['id']}").status_code == 204


def test_a_range_of_the_replay_is_clipped_once_the_space_has_ended(
    api: Api, server: RunningServer
) -> None:
    host, fan = api.sign_up("crh"), api.sign_up("crf")
    space = host.create_space("Replay me")
    on_air(server, space["id"], 3.5)
    problem_of(fan.post(_clips(space["id"]), json={"start": 0.5, "end": 2.5}), 422)
    assert host.post(f"/api/v1/spaces/{space['id']}/end").status_code == 200
    clip = _clip(fan, space["id"], start=0.5, end=2.5)
    assert clip["start"] == pytest.approx(0.5, abs=0.03)
    assert clip["duration"] == pytest.approx(2.0, abs=0.05)
    assert _audio_seconds(api, clip) == pytest.approx(2.0, abs=0.05)
    problem_of(fan.post(_clips(space["id"]), json={"seconds": 10}), 422)  # choose a range
    problem_of(fan.post(_clips(space["id"]), json={"start": 500, "end": 510}), 409)


def test_the_host_turns_clips_off_and_on(api: Api, server: RunningServer) -> None:
    host, fan = api.sign_up("cth"), api.sign_up("ctf")
    space = host.create_space("No clips")
    assert space["clips_allowed"] is True
    path = f"/api/v1/spaces/{space['id']}"
    problem_of(fan.request("PATCH", path, json={"clips_allowed": False}), 403)
    off = host.request("PATCH", path, json={"clips_allowed": False})
    assert off.status_code == 200 and off.json()["clips_allowed"] is False, off.text
    on_air(server, space["id"], 1.5)
    problem_of(fan.post(_clips(space["id"]), json={"seconds": 1}), 403)
    problem_of(host.request("PATCH", path, json={}), 422)  # nothing to change is a mistake
    unchanged = host.request("PATCH", path, json={"clips_allowed": None})
    assert unchanged.status_code == 200 and unchanged.json()["clips_allowed"] is False
    on = host.request("PATCH", path, json={"clips_allowed": True})
    assert on.json()["clips_allowed"] is True
    _clip(fan, space["id"], seconds=1)


def test_what_cannot_be_clipped_is_refused_and_changes_nothing(
    api: Api, server: RunningServer
) -> None:
    host, fan = api.sign_up("cbh"), api.sign_up("cbf")
    unrecorded = host.create_space("Off the record", record=False)
    problem_of(fan.post(_clips(unrecorded["id"]), json={}), 409)
    host.post(f"/api/v1/spaces/{unrecorded['id']}/end")
    later = host.schedule_space("Later")
    problem_of(fan.post(_clips(later["id"]), json={}), 409)
    space = host.create_space("Bad bodies")
    problem_of(api.http.post(_clips(space["id"]), json={}), 401)
    for body in (
        {"seconds": 0},
        {"seconds": 61},
        {"seconds": "30"},
        {"seconds": None, "start": 1},
        {"start": 1},
        {"start": 5, "end": 2},
        {"start": 0, "end": 61},
        {"seconds": 5, "start": 0, "end": 5},
        {"seconds": 5, "colour": "red"},
        [],
    ):
        problem_of(fan.post(_clips(space["id"]), json=body), 422)
    problem_of(fan.post(_clips("nope"), json={}), 404)
    problem_of(api.http.get("/api/v1/clips/nope"), 404)
    problem_of(fan.delete("/api/v1/clips/nope"), 404)
    assert api.http.get(_clips(space["id"])).json() == {"items": [], "next_cursor": None}


def test_clipping_is_rate_limited_per_person(api: Api, server: RunningServer) -> None:
    host, fan = api.sign_up("cqh"), api.sign_up("cqf")
    space = host.create_space("Many clips")
    on_air(server, space["id"], 1.5)
    for _ in range(6):
        _clip(fan, space["id"], seconds=1)
    refused = fan.post(_clips(space["id"]), json={"seconds": 1})
    problem_of(refused, 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert len(api.http.get(_clips(space["id"])).json()["items"]) == 6


@pytest.mark.slow
@pytest.mark.parametrize("server", ["postgresql"], indirect=True)  # half a minute is enough once
def test_thirty_seconds_of_a_live_space_make_a_thirty_second_clip(
    api: Api, server: RunningServer
) -> None:
    """The acceptance's clip: ~30 s of a live Space, decoded by PyAV to 30 s of audio."""
    host, fan = api.sign_up("c30h"), api.sign_up("c30f")
    space = host.create_space("Half a minute")
    on_air(server, space["id"], 31)
    clip = _clip(fan, space["id"])  # seconds: 30 by default
    assert clip["duration"] == pytest.approx(30.0, abs=0.05)
    assert _audio_seconds(api, clip) == pytest.approx(30.0, abs=0.05)
