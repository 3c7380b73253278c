"""The audience as a count with a few of the people you follow (issue 15): a signed-in viewer
asks ``GET /api/v1/spaces/{id}/audience`` and learns who of the people they follow is listening
now, signed in; an anonymous listener is only counted, and a silent one fades like the count."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.client import Api, User, problem_of
from tests.support.presence import counted
from tests.support.server import run_server
from tests.support.wait import eventually

#: End the Spaces a test left live (``end_live_spaces``, tests/conftest.py).
pytestmark = pytest.mark.usefixtures("end_live_spaces")


def _path(space_id: str) -> str:
    return f"/api/v1/spaces/{space_id}/audience"


def _join(api: Api, space_id: str, user: User | None = None) -> dict[str, Any]:
    headers = user.headers if user else {}
    response = api.http.post(f"/api/v1/spaces/{space_id}/join", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _audience(viewer: User, space_id: str) -> dict[str, Any]:
    response = viewer.get(_path(space_id))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "private, no-store"
    body: dict[str, Any] = response.json()
    assert set(body) == {"listener_count", "followed"}
    return body


def _brief(user: User) -> dict[str, str]:
    return {"handle": user.handle, "display_name": user.handle}


def _sees(viewer: User, space_id: str, listeners: int, followed: list[User]) -> bool:
    body = _audience(viewer, space_id)
    assert body["followed"] == [_brief(user) for user in followed], body
    assert counted(body["listener_count"], listeners), body
    return True


def test_a_viewer_sees_the_people_they_follow_who_listen_signed_in(api: Api) -> None:
    a, b, c, d = (api.sign_up(p) for p in ("fa", "fb", "fc", "fd"))
    space_id = api.sign_up("fhost").create_space("Who is here")["id"]
    a.follow(b)
    a.follow(c)
    b_joined = _join(api, space_id, b)
    _join(api, space_id)  # C listens, but anonymously: counted, not named
    _join(api, space_id, d)  # signed in, but A does not follow D
    # The count is the one joins read, at most a second old (and, on Redis, an estimate).
    eventually(lambda: _sees(a, space_id, 3, [b]), message="A never saw B alone")
    # B's heartbeats carry only the listener id, which keeps B present as B.
    assert api.http.post(b_joined["heartbeat_url"]).status_code == 204
    assert _audience(a, space_id)["followed"] == [_brief(b)]
    # The most recently followed come first; the viewer is never among them.
    e = api.sign_up("fe")
    a.follow(e)
    _join(api, space_id, e)
    _join(api, space_id, a)
    e.follow(a)
    eventually(lambda: _sees(a, space_id, 5, [e, b]), message="A never saw E, then B")
    assert _audience(e, space_id)["followed"] == [_brief(a)]
    assert _audience(d, space_id)["followed"] == []


def test_signed_out_is_401_and_an_unknown_space_404(api: Api) -> None:
    viewer = api.sign_up("fv")
    space_id = viewer.create_space()["id"]
    problem_of(api.http.get(_path(space_id)), 401)
    problem_of(api.http.get(_path(space_id), headers={"Authorization": "Bearer forged"}), 401)
    problem_of(viewer.get(_path("unknown")), 404)


def test_nobody_is_listening_to_a_space_that_is_not_on(api: Api) -> None:
    host, fan = api.sign_up("fsh"), api.sign_up("fsf")
    fan.follow(host)
    scheduled = host.schedule_space()["id"]
    assert _audience(fan, scheduled) == {"listener_count": 0, "followed": []}
    live = host.create_space()["id"]
    _join(api, live, host)
    eventually(lambda: _audience(fan, live)["followed"] == [_brief(host)])
    assert host.post(f"/api/v1/spaces/{live}/end").status_code == 200
    # A node trusts what it read of a Space for a moment (``space_cache_ttl_s``).
    eventually(lambda: _audience(fan, live) == {"listener_count": 0, "followed": []})


@pytest.mark.slow
def test_a_silent_listener_drops_out_while_one_who_beats_stays(tmp_path: Path) -> None:
    """The presence windows of tests/test_audience.py's silent listener, by account: B stops
    sending heartbeats and is gone after about two intervals, C keeps sending them and stays."""
    with run_server(tmp_path, heartbeat_interval_s=5) as server:
        api = Api(server.base_url)
        a, b, c = (api.sign_up(p) for p in ("sa", "sb", "sc"))
        space_id = api.sign_up("shost").create_space()["id"]
        a.follow(b)
        a.follow(c)
        # C joins first: once B has lapsed, so has C's join, and only heartbeats keep C.
        kept = _join(api, space_id, c)
        _join(api, space_id, b)
        assert kept["heartbeat_interval_s"] == 5
        assert _audience(a, space_id)["followed"] == [_brief(c), _brief(b)]
        started = time.monotonic()

        def b_lapsed_and_c_stayed() -> bool:
            # The time under test passes here: a heartbeat from C at a listener's pace.
            beat = api.http.post(kept["heartbeat_url"])
            if beat.status_code != 204:
                pytest.fail(f"C's heartbeat answered {beat.status_code}: {beat.text}")
            followed: list[dict[str, str]] = _audience(a, space_id)["followed"]
            if _brief(c) not in followed:
                pytest.fail(f"C kept beating, yet A sees {followed}")
            return followed == [_brief(c)]

        eventually(b_lapsed_and_c_stayed, interval_s=2.5, timeout_s=30, message="B never lapsed")
        # Two windows of 5 s: B was counted at least until the window after its join ended.
        assert time.monotonic() - started >= 4
        api.close()
