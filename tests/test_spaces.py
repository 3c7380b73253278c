"""Spaces: create now or scheduled, start, end, read and list (API.md "Spaces")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.client import Api, problem_of


def _in(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def test_a_space_created_now_is_live_with_its_host_on_stage(api: Api) -> None:
    host = api.sign_up("host", display_name="Layla ليلى")
    space = host.create_space("حديث الليلة — Tonight's talk", record=False)
    assert space["state"] == "live"
    assert space["title"] == "حديث الليلة — Tonight's talk"
    assert space["host"] == {"handle": host.handle, "display_name": "Layla ليلى"}
    assert space["stage"] == [
        {"handle": host.handle, "display_name": "Layla ليلى", "role": "host", "muted": False}
    ]
    assert space["record"] is False
    assert space["started_at"] and space["ended_at"] is None
    assert space["hls_url"] == f"/hls/{space['id']}/live.m3u8"
    assert space["replay_url"] is None
    assert api.space(space["id"]) == space


def test_a_scheduled_space_waits_until_its_host_starts_it(api: Api) -> None:
    host = api.sign_up("sched")
    start = _in(3)
    space = host.create_space("Later", scheduled_start=start)
    assert space["state"] == "scheduled"
    assert datetime.fromisoformat(space["scheduled_start"]) == datetime.fromisoformat(start)
    assert space["hls_url"] is None and space["started_at"] is None
    started = host.post(f"/api/v1/spaces/{space['id']}/start")
    assert started.status_code == 200
    assert started.json()["state"] == "live" and started.json()["hls_url"]
    problem_of(host.post(f"/api/v1/spaces/{space['id']}/start"), 409)


def test_scheduling_window_is_the_next_14_days(api: Api) -> None:
    host = api.sign_up("window")
    for when in (_in(-1), _in(24 * 14 + 1)):
        problem_of(host.post("/api/v1/spaces", json={"title": "x", "scheduled_start": when}), 422)
    naive = (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    problem_of(host.post("/api/v1/spaces", json={"title": "x", "scheduled_start": naive}), 422)
    assert host.create_space("ok", scheduled_start=_in(24 * 13))["state"] == "scheduled"


def test_titles_are_1_to_140_characters_of_any_script(api: Api) -> None:
    host = api.sign_up("titles")
    assert host.create_space("م" * 140, scheduled_start=_in(1))["title"] == "م" * 140
    for bad in ("", "   ", "م" * 141, "bell\x07"):
        problem_of(host.post("/api/v1/spaces", json={"title": bad}), 422)


def test_only_the_host_starts_and_ends(api: Api) -> None:
    host, other = api.sign_up("h"), api.sign_up("o")
    scheduled = host.schedule_space()
    problem_of(other.post(f"/api/v1/spaces/{scheduled['id']}/start"), 403)
    problem_of(api.http.post(f"/api/v1/spaces/{scheduled['id']}/start"), 401)
    assert api.space(scheduled["id"])["state"] == "scheduled"
    live = host.create_space()
    problem_of(other.post(f"/api/v1/spaces/{live['id']}/end"), 403)
    assert api.space(live["id"])["state"] == "live"


def test_ending_is_final(api: Api) -> None:
    host = api.sign_up("ender")
    space = host.create_space()
    ended = host.post(f"/api/v1/spaces/{space['id']}/end")
    assert ended.status_code == 200
    body = ended.json()
    assert body["state"] == "ended" and body["ended_at"] and body["hls_url"] is None
    problem_of(host.post(f"/api/v1/spaces/{space['id']}/end"), 409)
    problem_of(host.post(f"/api/v1/spaces/{space['id']}/start"), 409)
    assert api.space(space["id"]) == body


def test_a_scheduled_space_can_be_cancelled(api: Api) -> None:
    host = api.sign_up("cancel")
    space = host.schedule_space()
    assert host.post(f"/api/v1/spaces/{space['id']}/end").json()["state"] == "ended"


def test_one_live_space_per_host(api: Api) -> None:
    host = api.sign_up("busy")
    first = host.create_space()
    problem_of(host.post("/api/v1/spaces", json={"title": "second"}), 409)
    later = host.schedule_space()
    problem_of(host.post(f"/api/v1/spaces/{later['id']}/start"), 409)
    host.post(f"/api/v1/spaces/{first['id']}/end")
    assert host.post(f"/api/v1/spaces/{later['id']}/start").status_code == 200


def test_unknown_spaces_are_404(api: Api) -> None:
    host = api.sign_up("u")
    for space_id in ("nope", "A" * 16, "x" * 300):
        problem_of(api.http.get(f"/api/v1/spaces/{space_id}"), 404)
        problem_of(host.post(f"/api/v1/spaces/{space_id}/start"), 404)


def test_listing_by_state_pages_through_everything_once(api: Api) -> None:
    host = api.sign_up("lister")
    created = [host.schedule_space(f"s{i}", hours=1 + i)["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"state": "scheduled", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = api.http.get("/api/v1/spaces", params=params).json()
        assert len(page["items"]) <= 2
        assert all(item["state"] == "scheduled" for item in page["items"])
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    # Soonest first; other tests' scheduled Spaces interleave, so compare our own order.
    assert [s for s in seen if s in created] == created


def test_listing_one_hosts_spaces_however_busy_the_server(api: Api) -> None:
    """A profile lists its host's Spaces through ``host``: paged, by handle in any case; an
    unknown or malformed handle is a problem, never another host's Spaces."""
    host, other = api.sign_up("mine"), api.sign_up("theirs")
    mine = [host.schedule_space(f"m{i}", hours=1 + i)["id"] for i in range(3)]
    other.schedule_space("not mine")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {
            "state": "scheduled",
            "limit": 2,
            "host": host.handle.upper(),
        }
        if cursor:
            params["cursor"] = cursor
        page = api.http.get("/api/v1/spaces", params=params).json()
        assert all(item["host"]["handle"] == host.handle for item in page["items"])
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == mine
    live = host.create_space("now")
    everything = api.http.get("/api/v1/spaces", params={"host": host.handle}).json()["items"]
    assert {s["id"] for s in everything} == {*mine, live["id"]}
    problem_of(api.http.get("/api/v1/spaces", params={"host": "nobody_here_at_all"}), 404)
    for bad in ("", "has space", "x" * 33, "émile", "a/b"):
        problem_of(api.http.get("/api/v1/spaces", params={"host": bad}), 422)


def test_listing_live_and_ended(api: Api) -> None:
    host = api.sign_up("both")
    space = host.create_space()
    live_ids = [
        s["id"] for s in api.http.get("/api/v1/spaces?state=live&limit=100").json()["items"]
    ]
    assert space["id"] in live_ids
    host.post(f"/api/v1/spaces/{space['id']}/end")
    ended = api.http.get("/api/v1/spaces?state=ended").json()["items"]
    assert ended[0]["id"] == space["id"]  # latest ended first
    everything = api.http.get("/api/v1/spaces").json()
    assert {"items", "next_cursor"} <= everything.keys()
