"""Reach: the live-now and upcoming feeds, reminders, the notification inbox and its stream."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.client import Api, problem_of
from tests.support.server import RunningServer
from tests.support.sse import EventReader


def _ids(response_items: list[dict[str, object]]) -> list[object]:
    return [item["id"] for item in response_items]


def test_live_feed_shows_spaces_whose_host_or_a_stage_member_i_follow(api: Api) -> None:
    me, host, guest, stranger = (api.sign_up(p) for p in ("me", "host", "guest", "stranger"))
    me.follow(host)
    me.follow(guest)
    by_host = host.create_space("followed host")
    with_guest = stranger.create_space("followed guest on stage")
    assert (
        stranger.put(
            f"/api/v1/spaces/{with_guest['id']}/stage/{guest.handle}", json={"role": "speaker"}
        ).status_code
        == 200
    )
    unrelated = api.sign_up("other").create_space("not followed")
    feed = me.get("/api/v1/feed/live").json()["items"]
    assert _ids(feed) == [with_guest["id"], by_host["id"]]  # newest first
    assert unrelated["id"] not in _ids(feed)
    host.post(f"/api/v1/spaces/{by_host['id']}/end")
    assert _ids(me.get("/api/v1/feed/live").json()["items"]) == [with_guest["id"]]
    problem_of(api.http.get("/api/v1/feed/live"), 401)


def test_upcoming_feed_lists_scheduled_spaces_of_hosts_i_follow_soonest_first(api: Api) -> None:
    me, host, other = api.sign_up("me"), api.sign_up("host"), api.sign_up("nope")
    me.follow(host)
    later = host.schedule_space("later", hours=5)
    sooner = host.schedule_space("sooner", hours=1)
    other.schedule_space("unfollowed")
    assert _ids(me.get("/api/v1/feed/upcoming").json()["items"]) == [sooner["id"], later["id"]]


def test_reminders_are_for_scheduled_spaces(api: Api) -> None:
    host, fan = api.sign_up("host"), api.sign_up("fan")
    scheduled = host.schedule_space()
    path = f"/api/v1/spaces/{scheduled['id']}/reminder"
    assert fan.get(path).json() == {"reminder": False}
    assert fan.post(path).status_code == 204
    assert fan.post(path).status_code == 204  # idempotent
    # Asked from another device (another session), the answer is the same.
    assert api.sign_in(fan.handle).get(path).json() == {"reminder": True}
    assert host.get(path).json() == {"reminder": False}  # mine, not anyone's
    assert fan.delete(path).status_code == 204
    assert fan.delete(path).status_code == 204
    assert fan.get(path).json() == {"reminder": False}
    problem_of(fan.get("/api/v1/spaces/unknown/reminder"), 404)
    problem_of(api.http.get(path), 401)
    live = api.sign_up("live").create_space()
    problem_of(fan.post(f"/api/v1/spaces/{live['id']}/reminder"), 409)
    problem_of(fan.post("/api/v1/spaces/unknown/reminder"), 404)
    problem_of(api.http.post(path), 401)


def test_inbox_has_follow_live_and_reminder_notices_newest_first(api: Api) -> None:
    me, host, fan = api.sign_up("me"), api.sign_up("host"), api.sign_up("fan")
    fan.follow(me)
    me.follow(host)
    reminded = api.sign_up("other").schedule_space("remind me")
    assert me.post(f"/api/v1/spaces/{reminded['id']}/reminder").status_code == 204
    live = host.create_space("going live")
    other = api.http.get(f"/api/v1/spaces/{reminded['id']}").json()["host"]["handle"]
    starter = api.sign_in(other)
    starter.post(f"/api/v1/spaces/{reminded['id']}/start")
    items = me.get("/api/v1/notifications").json()["items"]
    assert [(n["kind"], (n["space"] or {}).get("id")) for n in items] == [
        ("reminder", reminded["id"]),
        ("live", live["id"]),
        ("follow", None),
    ]
    assert items[1]["actor"]["handle"] == host.handle
    assert items[2]["actor"]["handle"] == fan.handle
    assert items == sorted(items, key=lambda n: n["created_at"], reverse=True)


def test_what_was_seen_is_kept_by_the_server_and_only_moves_forward(api: Api) -> None:
    """The unread badge of every device counts notices after ``seen_at``."""
    me = api.sign_up("reader")
    for name in ("one", "two"):
        api.sign_up(name).follow(me)
    inbox = me.get("/api/v1/notifications").json()
    assert inbox["seen_at"] is None  # nothing seen yet: both unread
    newest, older = (n["created_at"] for n in inbox["items"])
    marked = me.post("/api/v1/notifications/seen", json={"up_to": newest})
    assert marked.status_code == 200, marked.text
    assert marked.json()["seen_at"] == newest
    other_device = api.sign_in(me.handle)
    assert other_device.get("/api/v1/notifications").json()["seen_at"] == newest
    # A device that read less, later, does not take it back.
    assert other_device.post("/api/v1/notifications/seen", json={"up_to": older}).json() == {
        "seen_at": newest
    }
    # Never past now: a device whose clock runs ahead cannot hide notices still to come.
    ahead = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    seen = datetime.fromisoformat(
        me.post("/api/v1/notifications/seen", json={"up_to": ahead}).json()["seen_at"]
    )
    assert seen <= datetime.now(UTC)
    for bad in ({}, {"up_to": "yesterday"}, {"up_to": "2026-01-01T00:00:00"}, {"up_to": 5}):
        problem_of(me.post("/api/v1/notifications/seen", json=bad), 422)
    assert me.get("/api/v1/notifications").json()["seen_at"] == seen.isoformat()
    problem_of(api.http.post("/api/v1/notifications/seen", json={"up_to": newest}), 401)


def test_followers_of_a_host_are_notified_without_a_row_each(
    api: Api, server: RunningServer
) -> None:
    from sqlalchemy import func, select

    from majlis.store import tables
    from tests.support.server import query

    host = api.sign_up("star")
    fans = [api.sign_up("fan") for _ in range(5)]
    for fan in fans:
        fan.follow(host)
    before = query(server, select(func.count()).select_from(tables.notifications))[0]
    space = host.create_space("big night")
    after = query(server, select(func.count()).select_from(tables.notifications))[0]
    assert after == before  # going live wrote no per-follower rows
    for fan in fans:
        kinds = [
            (n["kind"], (n["space"] or {}).get("id"))
            for n in fan.get("/api/v1/notifications").json()["items"]
        ]
        assert ("live", space["id"]) in kinds


def test_inbox_pages_with_a_cursor(api: Api) -> None:
    me = api.sign_up("popular")
    for _ in range(5):
        api.sign_up("f").follow(me)
    first = me.get("/api/v1/notifications", params={"limit": 3}).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    second = me.get(
        "/api/v1/notifications", params={"limit": 3, "cursor": first["next_cursor"]}
    ).json()
    assert len(second["items"]) == 2 and second["next_cursor"] is None
    assert not set(_ids(first["items"])) & set(_ids(second["items"]))
    problem_of(me.get("/api/v1/notifications", params={"cursor": "garbage"}), 400)


def test_notification_stream_pushes_live_and_personal_notices(
    api: Api, server: RunningServer
) -> None:
    me, host, fan = api.sign_up("me"), api.sign_up("host"), api.sign_up("fan")
    me.follow(host)
    reader = EventReader(server.base_url, "/api/v1/notifications/stream", headers=me.headers)
    try:
        assert reader.status == 200
        space = host.create_space("now")
        live = reader.wait_for("notification", kind="live")
        assert live["space"]["id"] == space["id"] and live["actor"]["handle"] == host.handle
        fan.follow(me)
        assert reader.wait_for("notification", kind="follow")["actor"]["handle"] == fan.handle
        space_of_fan = fan.create_space("come up")
        fan.put(f"/api/v1/spaces/{space_of_fan['id']}/stage/{me.handle}", json={"role": "speaker"})
        invited = reader.wait_for("notification", kind="invited")
        assert invited["space"]["id"] == space_of_fan["id"] and invited["id"].startswith("n")
    finally:
        reader.close()
    problem_of(api.http.get("/api/v1/notifications/stream"), 401)


def test_notification_stream_opens_with_a_ticket_for_event_source(
    api: Api, server: RunningServer
) -> None:
    """EventSource cannot send the token: a ticket from POST /api/v1/stream-tickets opens the
    stream once, and never again (the reconnect asks for a new one)."""
    me, host = api.sign_up("es"), api.sign_up("eshost")
    issued = me.post("/api/v1/stream-tickets")
    assert issued.status_code == 201 and issued.json()["expires_in"] == 60
    ticket = issued.json()["ticket"]
    assert me.token not in ticket
    reader = EventReader(server.base_url, f"/api/v1/notifications/stream?ticket={ticket}")
    try:
        assert reader.status == 200
        space = me.create_space("mine")
        me.put(f"/api/v1/spaces/{space['id']}/stage/{host.handle}", json={"role": "speaker"})
        host_reader_notice = host.get("/api/v1/notifications").json()["items"][0]
        assert host_reader_notice["kind"] == "invited"
        host.follow(me)
        assert reader.wait_for("notification", kind="follow")["actor"]["handle"] == host.handle
    finally:
        reader.close()
    spent = api.http.get(f"/api/v1/notifications/stream?ticket={ticket}")
    problem_of(spent, 401)
    assert "ticket" in spent.json()["detail"]
    problem_of(api.http.post("/api/v1/stream-tickets"), 401)
