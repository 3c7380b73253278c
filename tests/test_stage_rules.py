"""The stage's rules beyond who-may-do-what (API.md "The stage"), against a real server:
limits, the request queue, state conflicts, unknown things, muting, removal and its ban,
notifications, the Space's event stream, and the atomic stage limit under concurrent writes.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.support.client import TLS, Api, User, problem_of


def base(space_id: str) -> str:
    return f"/api/v1/spaces/{space_id}"


def put(actor: User, space_id: str, user: User, role: str = "speaker") -> httpx.Response:
    return actor.put(f"{base(space_id)}/stage/{user.handle}", json={"role": role})


def put_ok(actor: User, space_id: str, user: User, role: str = "speaker") -> dict[str, Any]:
    response = put(actor, space_id, user, role)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ask(user: User, space_id: str) -> httpx.Response:
    return user.post(f"{base(space_id)}/requests")


def requests_seen_by(staff: User, space_id: str) -> list[str]:
    response = staff.get(f"{base(space_id)}/requests")
    assert response.status_code == 200, response.text
    return [item["handle"] for item in response.json()["items"]]


def live(api: Api) -> tuple[User, str]:
    host = api.sign_up("host")
    return host, host.create_space("The stage")["id"]


def people(api: Api, n: int, prefix: str = "p") -> list[User]:
    return [api.sign_up(prefix) for _ in range(n)]


def notices(user: User) -> list[dict[str, Any]]:
    response = user.get("/api/v1/notifications")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def roles(api: Api, space_id: str) -> list[str]:
    return sorted(role for role, _ in api.stage_of(space_id).values())


# creation and new members ----------------------------------------------------------------------


def test_a_space_created_now_is_live_with_its_creator_as_unmuted_host(api: Api) -> None:
    host = api.sign_up("host")
    space = host.create_space("Now")
    assert space["state"] == "live"
    assert space["host"]["handle"] == host.handle
    assert space["stage"] == [
        {"handle": host.handle, "display_name": host.handle, "role": "host", "muted": False}
    ]


def test_a_new_stage_member_arrives_muted_and_only_unmutes_themselves(api: Api) -> None:
    host, space_id = live(api)
    guest = api.sign_up("guest")
    member = put_ok(host, space_id, guest)
    assert member == {
        "handle": guest.handle,
        "display_name": guest.handle,
        "role": "speaker",
        "muted": True,
    }
    assert api.stage_of(space_id)[guest.handle] == ("speaker", True)

    problem_of(host.post(f"{base(space_id)}/stage/{guest.handle}/unmute"), 403)
    assert api.stage_of(space_id)[guest.handle] == ("speaker", True)

    assert guest.post(f"{base(space_id)}/stage/{guest.handle}/unmute").status_code == 204
    assert api.stage_of(space_id)[guest.handle] == ("speaker", False)
    # Unmuting again, and muting twice, are idempotent.
    assert guest.post(f"{base(space_id)}/stage/{guest.handle}/unmute").status_code == 204
    for _ in range(2):
        assert host.post(f"{base(space_id)}/stage/{guest.handle}/mute").status_code == 204
        assert api.stage_of(space_id)[guest.handle] == ("speaker", True)


def test_putting_someone_on_stage_twice_in_the_same_role_changes_nothing(api: Api) -> None:
    host, space_id = live(api)
    guest = api.sign_up("guest")
    put_ok(host, space_id, guest)
    assert guest.post(f"{base(space_id)}/stage/{guest.handle}/unmute").status_code == 204
    assert put_ok(host, space_id, guest)["muted"] is False
    assert api.stage_of(space_id)[guest.handle] == ("speaker", False)


def test_a_role_other_than_speaker_or_cohost_is_a_validation_error(api: Api) -> None:
    host, space_id = live(api)
    guest = api.sign_up("guest")
    for role in ("host", "listener", ""):
        problem_of(put(host, space_id, guest, role), 422)
    problem_of(host.put(f"{base(space_id)}/stage/{guest.handle}", json={}), 422)
    assert guest.handle not in api.stage_of(space_id)


def test_handles_in_stage_addresses_are_case_insensitive(api: Api) -> None:
    host, space_id = live(api)
    guest = api.sign_up("Guest")
    b = base(space_id)
    response = host.put(f"{b}/stage/{guest.handle.upper()}", json={"role": "speaker"})
    assert response.status_code == 200, response.text
    assert response.json()["handle"] == guest.handle
    assert guest.post(f"{b}/stage/{guest.handle.lower()}/unmute").status_code == 204
    assert api.stage_of(space_id)[guest.handle] == ("speaker", False)
    problem_of(host.delete(f"{b}/stage/{host.handle.lower()}"), 409)


def test_bad_stage_bodies_are_4xx(api: Api) -> None:
    host, space_id = live(api)
    guest = api.sign_up("guest")
    url = f"{base(space_id)}/stage/{guest.handle}"
    problem_of(host.put(url, json={"role": "speaker", "extra": 1}), 422)
    problem_of(host.put(url, content=b"{", headers={"content-type": "application/json"}), 400)
    assert guest.handle not in api.stage_of(space_id)


# limits ----------------------------------------------------------------------------------------


def test_the_eleventh_speaker_is_refused_and_the_stage_is_unchanged(api: Api) -> None:
    host, space_id = live(api)
    speakers = people(api, 11, "spk")
    for speaker in speakers[:10]:
        put_ok(host, space_id, speaker)
    assert ask(speakers[10], space_id).status_code == 201
    before = api.stage_of(space_id)
    assert roles(api, space_id) == ["host"] + ["speaker"] * 10

    problem_of(put(host, space_id, speakers[10]), 409)
    assert api.stage_of(space_id) == before
    assert requests_seen_by(host, space_id) == [speakers[10].handle]

    # A seat frees up when someone leaves, and then the next one fits.
    assert speakers[0].delete(f"{base(space_id)}/stage/{speakers[0].handle}").status_code == 204
    put_ok(host, space_id, speakers[10])
    assert requests_seen_by(host, space_id) == []
    assert roles(api, space_id) == ["host"] + ["speaker"] * 10


def test_the_third_cohost_is_refused(api: Api) -> None:
    host, space_id = live(api)
    first, second, third = people(api, 3, "co")
    put_ok(host, space_id, first, "cohost")
    put_ok(host, space_id, second, "cohost")
    before = api.stage_of(space_id)
    problem_of(put(host, space_id, third, "cohost"), 409)
    assert api.stage_of(space_id) == before
    assert roles(api, space_id) == ["cohost", "cohost", "host"]


def test_promoting_a_speaker_when_the_cohost_seats_are_full_is_refused(api: Api) -> None:
    host, space_id = live(api)
    first, second, speaker = people(api, 3, "p")
    put_ok(host, space_id, first, "cohost")
    put_ok(host, space_id, second, "cohost")
    put_ok(host, space_id, speaker)
    before = api.stage_of(space_id)
    problem_of(put(host, space_id, speaker, "cohost"), 409)
    assert api.stage_of(space_id) == before
    assert notices(speaker)[0]["kind"] == "invited"  # no "promoted" notice for a refusal


def test_demoting_a_cohost_when_the_speaker_seats_are_full_is_refused(api: Api) -> None:
    host, space_id = live(api)
    cohost = api.sign_up("co")
    put_ok(host, space_id, cohost, "cohost")
    for speaker in people(api, 10, "spk"):
        put_ok(host, space_id, speaker)
    before = api.stage_of(space_id)
    problem_of(put(host, space_id, cohost, "speaker"), 409)
    assert api.stage_of(space_id) == before
    assert before[cohost.handle] == ("cohost", True)


# requests to speak -----------------------------------------------------------------------------


def test_the_request_queue(api: Api) -> None:
    host, space_id = live(api)
    cohost, speaker, a, b, c = people(api, 5, "p")
    put_ok(host, space_id, cohost, "cohost")
    put_ok(host, space_id, speaker)

    made = ask(b, space_id)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["handle"] == b.handle
    assert body["display_name"] == b.handle
    assert datetime.fromisoformat(body["requested_at"]).utcoffset() is not None
    assert ask(c, space_id).status_code == 201
    assert ask(a, space_id).status_code == 201

    problem_of(ask(b, space_id), 409)  # asked already
    problem_of(ask(speaker, space_id), 409)  # already on the stage
    problem_of(ask(cohost, space_id), 409)
    problem_of(ask(host, space_id), 409)

    # Staff see the queue in the order people asked.
    in_order = [b.handle, c.handle, a.handle]
    assert requests_seen_by(host, space_id) == in_order
    listed = cohost.get(f"{base(space_id)}/requests").json()["items"]
    assert [item["handle"] for item in listed] == in_order
    assert listed[0]["requested_at"] == body["requested_at"]
    stamps = [datetime.fromisoformat(item["requested_at"]) for item in listed]
    assert stamps == sorted(stamps)

    # Withdraw your own: 204, then there is nothing left to withdraw.
    assert c.delete(f"{base(space_id)}/requests/{c.handle}").status_code == 204
    problem_of(c.delete(f"{base(space_id)}/requests/{c.handle}"), 404)
    assert requests_seen_by(host, space_id) == [b.handle, a.handle]

    # A cohost declines; someone else's request cannot be dropped by a listener.
    problem_of(a.delete(f"{base(space_id)}/requests/{b.handle}"), 403)
    assert cohost.delete(f"{base(space_id)}/requests/{b.handle}").status_code == 204
    problem_of(host.delete(f"{base(space_id)}/requests/{b.handle}"), 404)
    assert requests_seen_by(host, space_id) == [a.handle]

    # Having withdrawn or been declined, one may ask again.
    assert ask(c, space_id).status_code == 201
    assert ask(b, space_id).status_code == 201
    assert requests_seen_by(host, space_id) == [a.handle, c.handle, b.handle]


def test_putting_a_requester_on_stage_takes_them_out_of_the_queue(api: Api) -> None:
    host, space_id = live(api)
    first, second = people(api, 2, "r")
    assert ask(first, space_id).status_code == 201
    assert ask(second, space_id).status_code == 201
    put_ok(host, space_id, first)
    assert requests_seen_by(host, space_id) == [second.handle]
    problem_of(first.delete(f"{base(space_id)}/requests/{first.handle}"), 404)


def test_requesting_to_speak_needs_an_account(api: Api) -> None:
    host, space_id = live(api)
    problem_of(api.http.post(f"{base(space_id)}/requests"), 401)
    problem_of(api.http.get(f"{base(space_id)}/requests"), 401)
    bad = {"Authorization": "Bearer not-a-token"}
    problem_of(api.http.post(f"{base(space_id)}/requests", headers=bad), 401)
    assert requests_seen_by(host, space_id) == []


def test_a_speaker_who_leaves_is_a_listener_again_and_may_ask_again(api: Api) -> None:
    host, space_id = live(api)
    speaker = api.sign_up("spk")
    put_ok(host, space_id, speaker)
    assert speaker.delete(f"{base(space_id)}/stage/{speaker.handle}").status_code == 204
    assert speaker.handle not in api.stage_of(space_id)
    problem_of(speaker.delete(f"{base(space_id)}/stage/{speaker.handle}"), 404)
    assert ask(speaker, space_id).status_code == 201
    # Back on stage later: muted again, whatever they were before.
    put_ok(host, space_id, speaker)
    assert api.stage_of(space_id)[speaker.handle] == ("speaker", True)


def test_the_host_cannot_leave_the_stage(api: Api) -> None:
    host, space_id = live(api)
    before = api.stage_of(space_id)
    body = problem_of(host.delete(f"{base(space_id)}/stage/{host.handle}"), 409)
    assert "end" in body["detail"].lower()
    assert api.stage_of(space_id) == before
    assert api.space(space_id)["state"] == "live"


def test_concurrent_requests_by_one_listener_make_one_request(api: Api) -> None:
    host, space_id = live(api)
    listener = api.sign_up("eager")
    statuses = concurrently([lambda: ask(listener, space_id).status_code] * 5)
    assert sorted(statuses) == [201, 409, 409, 409, 409]
    assert requests_seen_by(host, space_id) == [listener.handle]


# state and unknown things ----------------------------------------------------------------------


def stage_actions(
    actor: User, space_id: str, target: User
) -> dict[str, Any]:  # name -> () -> response
    b = base(space_id)
    return {
        "request": lambda: target.post(f"{b}/requests"),
        "put": lambda: actor.put(f"{b}/stage/{target.handle}", json={"role": "speaker"}),
        "take off": lambda: actor.delete(f"{b}/stage/{target.handle}"),
        "mute host": lambda: actor.post(f"{b}/stage/{actor.handle}/mute"),
        "unmute host": lambda: actor.post(f"{b}/stage/{actor.handle}/unmute"),
        "remove": lambda: actor.post(f"{b}/removals/{target.handle}"),
    }


def test_the_stage_of_a_scheduled_space_is_closed(api: Api) -> None:
    host = api.sign_up("host")
    guest = api.sign_up("guest")
    space_id = host.schedule_space()["id"]
    before = api.space(space_id)
    for name, action in stage_actions(host, space_id, guest).items():
        body = problem_of(action(), 409)
        assert "scheduled" in body["detail"], name
    assert api.space(space_id) == before
    assert requests_seen_by(host, space_id) == []
    problem_of(guest.post(f"{base(space_id)}/join"), 409)


def test_the_stage_of_an_ended_space_is_closed(api: Api) -> None:
    host, space_id = live(api)
    speaker, guest = people(api, 2, "p")
    put_ok(host, space_id, speaker)
    assert ask(guest, space_id).status_code == 201
    assert host.post(f"{base(space_id)}/end").json()["state"] == "ended"
    assert requests_seen_by(host, space_id) == []  # ending clears the queue
    before = api.space(space_id)
    for name, action in stage_actions(host, space_id, guest).items():
        body = problem_of(action(), 409)
        assert "ended" in body["detail"], name
    problem_of(speaker.delete(f"{base(space_id)}/stage/{speaker.handle}"), 409)
    problem_of(put(host, space_id, speaker, "cohost"), 409)
    assert api.space(space_id) == before
    problem_of(host.post(f"{base(space_id)}/start"), 409)


def test_unknown_accounts_and_spaces_are_404(api: Api) -> None:
    host, space_id = live(api)
    speaker = api.sign_up("spk")
    put_ok(host, space_id, speaker)
    before = api.stage_of(space_id)
    b = base(space_id)
    nobody = "nobody_" + speaker.handle[-10:]
    problem_of(host.put(f"{b}/stage/{nobody}", json={"role": "speaker"}), 404)
    problem_of(host.delete(f"{b}/stage/{nobody}"), 404)
    problem_of(host.post(f"{b}/stage/{nobody}/mute"), 404)
    problem_of(host.post(f"{b}/removals/{nobody}"), 404)
    problem_of(host.delete(f"{b}/requests/{nobody}"), 404)
    assert api.stage_of(space_id) == before

    # Someone real who is not on the stage cannot be muted or taken off it.
    listener = api.sign_up("lis")
    problem_of(host.post(f"{b}/stage/{listener.handle}/mute"), 404)
    problem_of(host.delete(f"{b}/stage/{listener.handle}"), 404)

    for missing in ("noSuchSpace1", "x" * 40, "bad%20id"):
        m = base(missing)
        problem_of(speaker.post(f"{m}/requests"), 404)
        problem_of(host.get(f"{m}/requests"), 404)
        problem_of(host.delete(f"{m}/requests/{speaker.handle}"), 404)
        problem_of(host.put(f"{m}/stage/{speaker.handle}", json={"role": "speaker"}), 404)
        problem_of(host.delete(f"{m}/stage/{speaker.handle}"), 404)
        problem_of(host.post(f"{m}/stage/{speaker.handle}/mute"), 404)
        problem_of(host.post(f"{m}/removals/{speaker.handle}"), 404)
        problem_of(api.http.get(f"{m}/events"), 404)
    assert api.stage_of(space_id) == before


# removal ---------------------------------------------------------------------------------------


def test_removal_takes_people_off_drops_their_request_and_bans_them(api: Api) -> None:
    host, space_id = live(api)
    cohost, speaker, asker = people(api, 3, "p")
    put_ok(host, space_id, cohost, "cohost")
    put_ok(host, space_id, speaker)
    assert ask(asker, space_id).status_code == 201
    b = base(space_id)

    assert cohost.post(f"{b}/removals/{speaker.handle}").status_code == 204
    assert host.post(f"{b}/removals/{asker.handle}").status_code == 204
    assert speaker.handle not in api.stage_of(space_id)
    assert requests_seen_by(host, space_id) == []

    for banned in (speaker, asker):
        problem_of(banned.post(f"{b}/join"), 403)
        problem_of(ask(banned, space_id), 403)
        problem_of(put(host, space_id, banned), 403)
        problem_of(put(host, space_id, banned, "cohost"), 403)
    # Without a token nobody can tell who is joining: anonymous listening stays open.
    joined = api.http.post(f"{b}/join")
    assert joined.status_code == 200, joined.text
    assert set(api.stage_of(space_id)) == {host.handle, cohost.handle}

    # Removing again changes nothing and sends no second notice.
    assert host.post(f"{b}/removals/{speaker.handle}").status_code == 204
    for banned, remover in ((speaker, cohost), (asker, host)):
        removed = [n for n in notices(banned) if n["kind"] == "removed"]
        assert len(removed) == 1
        assert removed[0]["space"]["id"] == space_id
        assert removed[0]["actor"]["handle"] == remover.handle

    # The ban is for this Space only.
    other_host, other_id = live(api)
    assert speaker.post(f"{base(other_id)}/join").status_code == 200
    put_ok(other_host, other_id, speaker)


def test_someone_never_on_stage_can_be_removed_preemptively(api: Api) -> None:
    host, space_id = live(api)
    troll = api.sign_up("troll")
    assert host.post(f"{base(space_id)}/removals/{troll.handle}").status_code == 204
    problem_of(troll.post(f"{base(space_id)}/join"), 403)
    problem_of(ask(troll, space_id), 403)


# notifications ---------------------------------------------------------------------------------


def test_invited_and_promoted_notifications(api: Api) -> None:
    host, space_id = live(api)
    cohost, invitee, speaker = people(api, 3, "p")
    put_ok(host, space_id, cohost, "cohost")
    put_ok(cohost, space_id, invitee)
    put_ok(host, space_id, speaker)
    put_ok(host, space_id, speaker, "cohost")

    [invited] = notices(invitee)
    assert invited["kind"] == "invited"
    assert invited["space"]["id"] == space_id
    assert invited["space"]["state"] == "live"
    assert invited["actor"]["handle"] == cohost.handle
    assert datetime.fromisoformat(invited["created_at"]).utcoffset() is not None

    kinds = [n["kind"] for n in notices(speaker)]
    assert kinds == ["promoted", "invited"]  # newest first
    promoted = notices(speaker)[0]
    assert promoted["actor"]["handle"] == host.handle
    assert promoted["space"]["id"] == space_id

    # A listener put straight into a cohost seat is told they are a cohost.
    assert [n["kind"] for n in notices(cohost)] == ["promoted"]
    # Demotion and refused changes notify nobody.
    put_ok(host, space_id, speaker, "speaker")
    assert [n["kind"] for n in notices(speaker)] == ["promoted", "invited"]
    assert notices(host) == []


def test_a_request_answered_by_the_stage_is_approved_not_invited(api: Api) -> None:
    """The notice says what happened (issue 15): asked and brought up is "approved"; brought
    up without asking is "invited" (the web client reads "brought you on stage")."""
    host, space_id = live(api)
    asker, other = people(api, 2, "q")
    assert asker.post(f"/api/v1/spaces/{space_id}/requests").status_code == 201
    put_ok(host, space_id, asker)
    put_ok(host, space_id, other)
    [approved] = notices(asker)
    assert approved["kind"] == "approved" and approved["actor"]["handle"] == host.handle
    assert [n["kind"] for n in notices(other)] == ["invited"]


# the Space's event stream ----------------------------------------------------------------------


class EventReader:
    """Reads a Space's Server-Sent Events in a thread; ``next`` waits for a named event."""

    def __init__(self, base_url: str, path: str) -> None:
        self._events: queue.Queue[tuple[str, dict[str, Any]] | BaseException | None] = queue.Queue()
        self._client = httpx.Client(
            base_url=base_url, timeout=httpx.Timeout(10, read=30), verify=TLS
        )
        self._path = path
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with self._client.stream("GET", self._path) as response:
                assert response.status_code == 200, response.status_code
                assert response.headers["content-type"].startswith("text/event-stream")
                name, data = "message", ""
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("data:"):
                        data += line[5:].strip()
                    elif line == "" and data:
                        self._events.put((name, json.loads(data)))
                        name, data = "message", ""
        except BaseException as exc:  # handed to the test, never lost in the thread
            self._events.put(exc)
        finally:
            self._events.put(None)

    def next(self, name: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        """The next event called ``name`` whose data has the ``match`` fields."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while True:
            remaining = deadline - time.monotonic()
            try:
                item = self._events.get(timeout=max(remaining, 0.01))
            except queue.Empty:
                raise AssertionError(f"no {name} event {match} in {timeout}s; saw {seen}") from None
            if item is None:
                raise AssertionError(f"the stream ended before a {name} event; saw {seen}")
            if isinstance(item, BaseException):
                raise item
            kind, data = item
            seen.append(kind)
            if kind == name and all(data.get(k) == v for k, v in match.items()):
                return data

    def close(self) -> None:
        self._client.close()
        self._thread.join(timeout=5)


@contextmanager
def events_of(api: Api, space_id: str) -> Iterator[EventReader]:
    reader = EventReader(api.base_url, f"{base(space_id)}/events")
    try:
        yield reader
    finally:
        reader.close()


def test_the_event_stream_tells_of_stage_changes(api: Api) -> None:
    host, space_id = live(api)
    guest, asker = people(api, 2, "p")
    b = base(space_id)
    with events_of(api, space_id) as events:
        snapshot = events.next("snapshot")
        assert snapshot["id"] == space_id
        assert snapshot["state"] == "live"
        assert snapshot["stage"] == [
            {"handle": host.handle, "display_name": host.handle, "role": "host", "muted": False}
        ]

        assert ask(asker, space_id).status_code == 201
        added = events.next("request", handle=asker.handle)
        assert added["action"] == "added"
        assert added["space_id"] == space_id
        assert asker.delete(f"{b}/requests/{asker.handle}").status_code == 204
        events.next("request", handle=asker.handle, action="removed")

        put_ok(host, space_id, guest)
        on_stage = events.next("stage", handle=guest.handle)
        assert on_stage["role"] == "speaker"
        assert on_stage["muted"] is True
        assert on_stage["space_id"] == space_id

        assert guest.post(f"{b}/stage/{guest.handle}/unmute").status_code == 204
        assert events.next("mute", handle=guest.handle)["muted"] is False
        assert host.post(f"{b}/stage/{guest.handle}/mute").status_code == 204
        assert events.next("mute", handle=guest.handle)["muted"] is True

        put_ok(host, space_id, guest, "cohost")
        assert events.next("stage", handle=guest.handle)["role"] == "cohost"

        assert host.post(f"{b}/removals/{guest.handle}").status_code == 204
        removed = events.next("removed", handle=guest.handle)
        assert removed["space_id"] == space_id

        assert host.post(f"{b}/end").status_code == 200
        assert events.next("state", state="ended")["space_id"] == space_id


def test_leaving_the_stage_is_an_event_with_no_role(api: Api) -> None:
    host, space_id = live(api)
    speaker = api.sign_up("spk")
    put_ok(host, space_id, speaker)
    with events_of(api, space_id) as events:
        assert [m["handle"] for m in events.next("snapshot")["stage"]] == [
            host.handle,
            speaker.handle,
        ]
        assert speaker.delete(f"{base(space_id)}/stage/{speaker.handle}").status_code == 204
        left = events.next("stage", handle=speaker.handle)
        assert left["role"] is None
        assert host.post(f"{base(space_id)}/end").status_code == 200
        events.next("state", state="ended")


# the atomic stage limit ------------------------------------------------------------------------


def concurrently(calls: list[Any]) -> list[Any]:
    """Run the calls at once: all threads wait at a barrier, then fire together."""
    barrier = threading.Barrier(len(calls))

    def run(call: Any) -> Any:
        barrier.wait(timeout=10)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def own_client_put(api: Api, host: User, space_id: str, user: User, role: str) -> Any:
    def call() -> tuple[int, str]:
        with httpx.Client(base_url=api.base_url, timeout=30) as client:
            response = client.put(
                f"{base(space_id)}/stage/{user.handle}", json={"role": role}, headers=host.headers
            )
        return response.status_code, user.handle

    return call


@pytest.mark.parametrize(("role", "seats", "tries"), [("speaker", 10, 14), ("cohost", 2, 6)])
def test_concurrent_puts_never_overfill_the_stage(
    api: Api, role: str, seats: int, tries: int
) -> None:
    host, space_id = live(api)
    crowd = people(api, tries, "rush")
    results = concurrently([own_client_put(api, host, space_id, u, role) for u in crowd])
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * seats + [409] * (tries - seats), results
    stage = api.stage_of(space_id)
    winners = {handle for status, handle in results if status == 200}
    assert {h for h, (r, _) in stage.items() if r == role} == winners
    assert len(stage) == seats + 1


def test_a_cohost_may_step_down_to_speaker_but_not_demote_another(api: Api) -> None:
    host, space_id = live(api)
    first, second = api.sign_up("co1"), api.sign_up("co2")
    put_ok(host, space_id, first, "cohost")
    put_ok(host, space_id, second, "cohost")
    problem_of(put(first, space_id, second, "speaker"), 403)
    assert api.stage_of(space_id)[second.handle][0] == "cohost"
    stepped = put_ok(first, space_id, first, "speaker")
    assert stepped["role"] == "speaker"
    assert api.stage_of(space_id)[first.handle][0] == "speaker"
    # Back as a speaker, they cannot make themselves cohost again.
    problem_of(put(first, space_id, first, "cohost"), 403)
    # And their muted state survives the role change.
    assert api.stage_of(space_id)[first.handle][1] is True
