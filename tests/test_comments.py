"""Comments in a Space's room (issue 15; API.md "To build"): signed-in people comment while it
is live (<= 280 characters, rate-limited, not once removed); the author, host and cohosts
delete; host and cohosts pin one at a time; everyone reads them newest first, over the event
stream or the cacheable newest page; bad input is a 422 problem that changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.client import Api, User, problem_of
from tests.support.server import RunningServer
from tests.support.sse import EventReader

#: End the Spaces a test left live (``end_live_spaces``, tests/conftest.py).
pytestmark = pytest.mark.usefixtures("end_live_spaces")


def _path(space_id: str, *rest: str) -> str:
    return "/".join([f"/api/v1/spaces/{space_id}/comments", *rest])


def _say(user: User, space_id: str, text: str) -> dict[str, Any]:
    said = user.post(_path(space_id), json={"text": text})
    assert said.status_code == 201, said.text
    body: dict[str, Any] = said.json()
    return body


def _page(api: Api, space_id: str, cursor: str | None = None) -> dict[str, Any]:
    params = {"cursor": cursor} if cursor else None
    got = api.http.get(_path(space_id), params=params)
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def test_people_comment_and_everyone_reads_them_newest_first(
    api: Api, server: RunningServer
) -> None:
    host, fan = api.sign_up("ch"), api.sign_up("cf")
    space_id = host.create_space("Talk")["id"]
    reader = EventReader(server.base_url, f"/api/v1/spaces/{space_id}/events")
    try:
        first = _say(fan, space_id, "أهلًا بالجميع 👋\nسؤال: متى تبدأ؟")
        assert set(first) == {"id", "account", "text", "created_at", "pinned"}
        assert first["account"]["handle"] == fan.handle and first["pinned"] is False
        assert first["text"] == "أهلًا بالجميع 👋\nسؤال: متى تبدأ؟"  # a new line is kept
        heard = reader.wait_for("comment", action="added")
        assert heard["comment"] == first and heard["space_id"] == space_id
        second = _say(host, space_id, "\u202eWelcome\u202c")  # a bidi override is removed
        assert second["text"] == "Welcome"
    finally:
        reader.close()
    page = _page(api, space_id)  # signed out too
    assert [c["id"] for c in page["items"]] == [second["id"], first["id"]]
    assert page["next_cursor"] is None and page["pinned"] is None


def test_the_newest_page_is_cacheable_and_older_pages_follow_the_cursor(api: Api) -> None:
    host = api.sign_up("cpage")
    space_id = host.create_space("Busy room")["id"]
    people = [api.sign_up(f"cp{i}") for i in range(11)]
    said = [_say(p, space_id, f"comment {p.handle} {n}")["id"] for p in people for n in range(5)]
    newest = api.http.get(_path(space_id))
    assert newest.headers["cache-control"] == "public, max-age=1"
    etag = newest.headers["etag"]
    assert api.http.get(_path(space_id), headers={"If-None-Match": etag}).status_code == 304
    first = newest.json()
    assert len(first["items"]) == 50 and first["next_cursor"]
    rest = _page(api, space_id, first["next_cursor"])
    assert rest["next_cursor"] is None
    ids = [c["id"] for c in first["items"] + rest["items"]]
    assert sorted(ids) == sorted(said) and len(set(ids)) == 55
    problem_of(api.http.get(_path(space_id), params={"cursor": "forged"}), 400)


def test_author_host_and_cohost_delete_others_cannot(api: Api) -> None:
    host, cohost, fan, other = (api.sign_up(p) for p in ("dh", "dc", "df", "do"))
    space_id = host.create_space("Deletes")["id"]
    assert host.put(f"/api/v1/spaces/{space_id}/stage/{cohost.handle}", json={"role": "cohost"})
    ids = [_say(fan, space_id, f"mine {n}")["id"] for n in range(3)]
    problem_of(other.delete(_path(space_id, ids[0])), 403)
    problem_of(api.http.delete(_path(space_id, ids[0])), 401)
    for who, comment_id in zip((fan, host, cohost), ids, strict=True):
        assert who.delete(_path(space_id, comment_id)).status_code == 204
    assert _page(api, space_id)["items"] == []
    problem_of(host.delete(_path(space_id, ids[0])), 404)


def test_staff_pin_one_at_a_time_and_a_deleted_pin_is_gone(api: Api) -> None:
    host, cohost, fan = api.sign_up("ph"), api.sign_up("pc"), api.sign_up("pf")
    space_id = host.create_space("Pins")["id"]
    assert host.put(f"/api/v1/spaces/{space_id}/stage/{cohost.handle}", json={"role": "cohost"})
    a, b = _say(fan, space_id, "first question")["id"], _say(fan, space_id, "second")["id"]
    problem_of(fan.post(_path(space_id, a, "pin")), 403)
    pinned = host.post(_path(space_id, a, "pin"))
    assert pinned.status_code == 200 and pinned.json()["pinned"] is True
    assert cohost.post(_path(space_id, b, "pin")).json()["id"] == b  # the last pin wins
    page = _page(api, space_id)
    assert page["pinned"]["id"] == b
    assert {c["id"]: c["pinned"] for c in page["items"]} == {a: False, b: True}
    problem_of(host.delete(_path(space_id, a, "pin")), 404)  # a is not the pinned one
    assert host.delete(_path(space_id, b, "pin")).status_code == 204
    assert _page(api, space_id)["pinned"] is None
    assert host.post(_path(space_id, a, "pin")).status_code == 200
    assert fan.delete(_path(space_id, a)).status_code == 204  # the author deletes the pinned one
    assert _page(api, space_id)["pinned"] is None
    problem_of(host.post(_path(space_id, "nosuchcomment", "pin")), 404)


def test_comments_are_for_a_live_space_and_not_for_the_removed(api: Api) -> None:
    host, troll = api.sign_up("lh"), api.sign_up("lt")
    later = host.schedule_space("Later")
    problem_of(troll.post(_path(later["id"]), json={"text": "too early"}), 409)
    space_id = host.create_space("Now")["id"]
    _say(troll, space_id, "hello")
    removed = host.post(f"/api/v1/spaces/{space_id}/removals/{troll.handle}")
    assert removed.status_code in (200, 204), removed.text
    problem_of(troll.post(_path(space_id), json={"text": "let me back"}), 403)
    problem_of(api.http.post(_path(space_id), json={"text": "anonymous"}), 401)
    assert host.post(f"/api/v1/spaces/{space_id}/end").status_code == 200
    problem_of(host.post(_path(space_id), json={"text": "after the end"}), 409)
    assert [c["text"] for c in _page(api, space_id)["items"]] == ["hello"]  # kept for the replay
    problem_of(api.http.get(_path("nosuchspace1")), 404)


def test_a_flood_is_told_to_wait(api: Api) -> None:
    host, fast = api.sign_up("fh"), api.sign_up("ff")
    space_id = host.create_space("Flood")["id"]
    for n in range(5):
        _say(fast, space_id, f"quick {n}")
    limited = problem_of(fast.post(_path(space_id), json={"text": "one more"}), 429)
    assert limited["status"] == 429
    _say(host, space_id, "others still may")


@pytest.mark.parametrize(
    "body",
    [
        {"text": ""},
        {"text": "   \n  "},
        {"text": "x" * 281},
        {"text": "bell\u0007"},
        {"text": "\u202e\u202c"},
        {"text": 7},
        {},
        {"text": "fine", "html": "<b>no</b>"},
    ],
)
def test_bad_comments_are_422_and_change_nothing(api: Api, body: dict[str, Any]) -> None:
    host = api.sign_up("bc")
    space_id = host.create_space("Bad comments")["id"]
    problem_of(host.post(_path(space_id), json=body), 422)
    assert _page(api, space_id)["items"] == []
