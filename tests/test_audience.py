"""The audience path: join, heartbeat, snapshot, reactions and the event stream."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.client import Api, User, problem_of
from tests.support.server import RunningServer, run_server
from tests.support.sse import EventReader
from tests.support.wait import eventually


def _join(api: Api, space_id: str, user: User | None = None) -> dict[str, object]:
    headers = user.headers if user else {}
    response = api.http.post(f"/api/v1/spaces/{space_id}/join", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_join_gives_a_player_everything_it_needs(api: Api) -> None:
    space = api.sign_up("host").create_space()
    body = _join(api, space["id"])
    assert body["hls_url"] == f"/hls/{space['id']}/live.m3u8"
    assert body["snapshot_url"] == f"/api/v1/spaces/{space['id']}/snapshot"
    assert body["events_url"] == f"/api/v1/spaces/{space['id']}/events"
    assert str(body["heartbeat_url"]).endswith(f"listener={body['listener_id']}")
    assert body["heartbeat_interval_s"] == 30
    assert body["low_latency"] is True  # a small audience gets LL-HLS
    assert body["events"] is True  # ...and its listeners stream the Space's events


#: What join gives the first listeners of a Space and withholds past a size: LL-HLS (an edge
#: serves ~6x more segment-paced listeners) and the event stream (an open origin connection
#: each, where the snapshot costs the origin nothing per listener).
LIMITED = [
    pytest.param("low_latency_max_listeners", "low_latency", "events", id="low-latency"),
    pytest.param("events_max_listeners", "events", "low_latency", id="event-stream"),
]


@pytest.mark.parametrize(("setting", "field", "other"), LIMITED)
def test_a_large_audience_is_given_the_path_that_costs_less(
    tmp_path: Path, setting: str, field: str, other: str
) -> None:
    with run_server(tmp_path, **{setting: 2}) as server:
        api = Api(server.base_url)
        try:
            host = api.sign_up("crowd")
            space = host.create_space()
            first = [_join(api, space["id"]) for _ in range(2)]
            assert [j[field] for j in first] == [True, True]
            # The audience size is read at most once a second per Space: let that second pass
            # (a sleep, as a join is no neutral probe: each one is another listener).
            time.sleep(1.1)
            late = _join(api, space["id"])
            assert late[field] is False
            assert late[other] is True  # the two limits are separate
            # Already seated listeners keep what they were given; heartbeats do not change it.
            assert api.http.post(str(first[0]["heartbeat_url"])).status_code == 204
            # Advice, not a refusal: the stream still serves whoever opens it (the stage).
            reader = EventReader(server.base_url, str(late["events_url"]), host.headers)
            try:
                assert reader.status == 200
                reader.wait_for("snapshot")
            finally:
                reader.close()
        finally:
            api.close()
    (tmp_path / "never").mkdir()
    with run_server(tmp_path / "never", **{setting: 0}) as server:
        api = Api(server.base_url)
        try:
            space = api.sign_up("never").create_space()
            assert _join(api, space["id"])[field] is False
        finally:
            api.close()


def test_listeners_are_counted_once_however_often_they_beat(api: Api) -> None:
    space = api.sign_up("count").create_space()
    joins = [_join(api, space["id"]) for _ in range(3)]
    for join in joins:
        for _ in range(2):
            assert api.http.post(str(join["heartbeat_url"])).status_code == 204
    assert api.space(space["id"])["listener_count"] == 3
    live = api.http.get("/api/v1/spaces?state=live&limit=100").json()["items"]
    assert next(s for s in live if s["id"] == space["id"])["listener_count"] == 3


def test_join_is_refused_before_start_after_end_and_for_unknown_spaces(api: Api) -> None:
    host = api.sign_up("states")
    scheduled = host.schedule_space()
    problem_of(api.http.post(f"/api/v1/spaces/{scheduled['id']}/join"), 409)
    live = host.create_space()
    host.post(f"/api/v1/spaces/{live['id']}/end")
    problem_of(api.http.post(f"/api/v1/spaces/{live['id']}/join"), 409)
    problem_of(api.http.post("/api/v1/spaces/unknown/join"), 404)


def test_join_with_a_bad_token_is_401_not_anonymous(api: Api) -> None:
    space = api.sign_up("tok").create_space()
    response = api.http.post(
        f"/api/v1/spaces/{space['id']}/join", headers={"Authorization": "Bearer forged"}
    )
    problem_of(response, 401)


def test_heartbeats_are_verified_without_state(api: Api) -> None:
    host = api.sign_up("hb")
    space, other = host.create_space(), api.sign_up("hb2").create_space()
    join = _join(api, space["id"])
    lid = join["listener_id"]
    path = f"/api/v1/spaces/{space['id']}/heartbeat"
    problem_of(api.http.post(path, params={"listener": "forged.id"}), 404)
    # An id is bound to its Space: it does not count in another one.
    problem_of(
        api.http.post(f"/api/v1/spaces/{other['id']}/heartbeat", params={"listener": lid}), 404
    )
    problem_of(api.http.post(path), 422)
    host.post(f"/api/v1/spaces/{space['id']}/end")
    problem_of(api.http.post(path, params={"listener": lid}), 409)


def test_snapshot_is_cacheable_and_revalidates(api: Api) -> None:
    space = api.sign_up("snap").create_space("Snap")
    response = api.http.get(f"/api/v1/spaces/{space['id']}/snapshot")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=1"
    etag = response.headers["etag"]
    body = response.json()
    assert (
        body["title"] == "Snap" and body["state"] == "live" and body["stage"][0]["role"] == "host"
    )
    again = api.http.get(f"/api/v1/spaces/{space['id']}/snapshot", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    problem_of(api.http.get("/api/v1/spaces/unknown/snapshot"), 404)


def test_reactions_are_counted_and_streamed_in_aggregate(api: Api, server: RunningServer) -> None:
    host = api.sign_up("react")
    fan = api.sign_up("fan")
    space = host.create_space()
    reader = EventReader(server.base_url, f"/api/v1/spaces/{space['id']}/events")
    try:
        assert reader.status == 200
        assert reader.wait_for("snapshot")["id"] == space["id"]
        for emoji in ("🔥", "🔥", "👏"):
            assert (
                fan.post(
                    f"/api/v1/spaces/{space['id']}/reactions", json={"emoji": emoji}
                ).status_code
                == 202
            )
        counts: dict[str, int] = {}
        while counts != {"🔥": 2, "👏": 1}:  # relayed once a second, maybe split over two ticks
            for k, v in reader.wait_for("reactions", timeout=3)["counts"].items():
                counts[k] = counts.get(k, 0) + v
    finally:
        reader.close()

    def snapshot_reactions() -> bool:  # the snapshot is cached for a second
        snapshot = api.http.get(f"/api/v1/spaces/{space['id']}/snapshot").json()
        assert snapshot["reactions"] == {"🔥": 2, "👏": 1}
        return True

    eventually(snapshot_reactions)


def test_reactions_need_a_known_emoji_and_a_signed_in_listener(api: Api) -> None:
    host = api.sign_up("emoji")
    space = host.create_space()
    path = f"/api/v1/spaces/{space['id']}/reactions"
    problem_of(host.post(path, json={"emoji": "x"}), 422)
    problem_of(api.http.post(path, json={"emoji": "🔥"}), 401)
    host.post(f"/api/v1/spaces/{space['id']}/end")
    problem_of(host.post(path, json={"emoji": "🔥"}), 409)


def test_reactions_are_rate_limited_per_account(api: Api) -> None:
    host, fan = api.sign_up("rl"), api.sign_up("rlfan")
    space = host.create_space()
    path = f"/api/v1/spaces/{space['id']}/reactions"
    statuses = [fan.post(path, json={"emoji": "💜"}).status_code for _ in range(25)]
    assert statuses[:20] == [202] * 20
    assert 429 in statuses[20:]
    limited = fan.post(path, json={"emoji": "💜"})
    assert int(problem_of(limited, 429) and limited.headers["retry-after"]) >= 1
    assert host.post(path, json={"emoji": "💜"}).status_code == 202  # others are unaffected


def test_the_event_stream_ends_when_the_space_ends(api: Api, server: RunningServer) -> None:
    host = api.sign_up("finale")
    space = host.create_space()
    reader = EventReader(server.base_url, f"/api/v1/spaces/{space['id']}/events")
    try:
        reader.wait_for("snapshot")
        host.post(f"/api/v1/spaces/{space['id']}/end")
        assert reader.wait_for("state", state="ended")["space_id"] == space["id"]
        reader.wait_for("<closed>")
    finally:
        reader.close()
    problem_of(api.http.get("/api/v1/spaces/unknown/events"), 404)


@pytest.mark.slow
def test_a_silent_listener_stops_counting_after_about_two_intervals(tmp_path: Path) -> None:
    with run_server(tmp_path, heartbeat_interval_s=5) as server:
        api = Api(server.base_url)
        space = api.sign_up("decay").create_space()
        kept, dropped = _join(api, space["id"]), _join(api, space["id"])
        assert dropped["heartbeat_interval_s"] == 5
        assert api.space(space["id"])["listener_count"] == 2
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:  # the time under test: 12 s, over two intervals
            assert api.http.post(str(kept["heartbeat_url"])).status_code == 204
            time.sleep(2.5)  # a listener's heartbeat pace (the interval is 5 s)
        assert api.space(space["id"])["listener_count"] == 1
        api.close()
