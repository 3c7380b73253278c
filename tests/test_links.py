"""A Space's pinned link (issue 15; API.md "To build": ``PUT`` / ``DELETE
/api/v1/spaces/{id}/link``): host and cohosts pin one http(s) URL with a title; everyone sees it
in the Space JSON, the snapshot and the event stream; the server never fetches it; bad input is
a 422 problem that changes nothing."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.client import Api, User, problem_of
from tests.support.server import RunningServer
from tests.support.sse import EventReader

#: End the Spaces a test left live (``end_live_spaces``, tests/conftest.py).
pytestmark = pytest.mark.usefixtures("end_live_spaces")

LINK = {"url": "https://news.example/ar/interview?id=7#live", "title": "المقابلة كاملة"}


def _link_of(user: User, space_id: str) -> Any:
    return user.get(f"/api/v1/spaces/{space_id}").json()["link"]


def test_host_and_cohost_pin_everyone_sees_it_and_staff_unpin(api: Api) -> None:
    host, cohost, speaker, listener = (api.sign_up(p) for p in ("lh", "lc", "ls", "ll"))
    space_id = host.create_space("Pinned")["id"]
    for who, role in ((cohost, "cohost"), (speaker, "speaker")):
        put = host.put(f"/api/v1/spaces/{space_id}/stage/{who.handle}", json={"role": role})
        assert put.status_code == 200, put.text
    assert _link_of(listener, space_id) is None

    pinned = host.put(f"/api/v1/spaces/{space_id}/link", json=LINK)
    assert pinned.status_code == 200, pinned.text
    assert pinned.json()["link"] == LINK
    assert _link_of(listener, space_id) == LINK
    assert api.http.get(f"/api/v1/spaces/{space_id}").json()["link"] == LINK  # signed out too
    snapshot = api.http.get(f"/api/v1/spaces/{space_id}/snapshot").json()
    assert snapshot["link"] == LINK

    other = {"url": "http://example.org/", "title": "Another"}
    assert cohost.put(f"/api/v1/spaces/{space_id}/link", json=other).json()["link"] == other
    for refused in (speaker, listener):
        problem_of(refused.put(f"/api/v1/spaces/{space_id}/link", json=LINK), 403)
        problem_of(refused.delete(f"/api/v1/spaces/{space_id}/link"), 403)
    problem_of(api.http.put(f"/api/v1/spaces/{space_id}/link", json=LINK), 401)
    assert _link_of(listener, space_id) == other

    unpinned = cohost.delete(f"/api/v1/spaces/{space_id}/link")
    assert unpinned.status_code == 200 and unpinned.json()["link"] is None
    assert _link_of(listener, space_id) is None


@pytest.mark.parametrize(
    "body",
    [
        {"url": "javascript:alert(1)", "title": "x"},
        {"url": "data:text/html,<script>alert(1)</script>", "title": "x"},
        {"url": "file:///etc/passwd", "title": "x"},
        {"url": "ftp://files.example/x", "title": "x"},
        {"url": "https://user:secret@bank.example/", "title": "x"},
        {"url": "https://", "title": "x"},
        {"url": "https://exa mple.com/", "title": "x"},
        {"url": "https://example.com/\u0000", "title": "x"},
        {"url": "https://example.com:99999/", "title": "x"},
        {"url": "https://example.com/" + "a" * 2048, "title": "x"},
        {"url": "", "title": "x"},
        {"url": "https://example.com/", "title": ""},
        {"url": "https://example.com/", "title": "\u202e"},
        {"url": "https://example.com/", "title": "a\u0007b"},
        {"url": "https://example.com/", "title": "t" * 101},
        {"url": "https://example.com/"},
        {"url": "https://example.com/", "title": "x", "preview": True},
        {"url": 7, "title": "x"},
    ],
)
def test_bad_links_are_422_and_change_nothing(api: Api, body: dict[str, Any]) -> None:
    host = api.sign_up("lbad")
    space_id = host.create_space("Bad links")["id"]
    assert host.put(f"/api/v1/spaces/{space_id}/link", json=LINK).status_code == 200
    problem_of(host.put(f"/api/v1/spaces/{space_id}/link", json=body), 422)
    assert _link_of(host, space_id) == LINK


def test_no_link_on_an_ended_or_unknown_space(api: Api) -> None:
    host = api.sign_up("lend")
    space_id = host.create_space("Over")["id"]
    assert host.put(f"/api/v1/spaces/{space_id}/link", json=LINK).status_code == 200
    assert host.post(f"/api/v1/spaces/{space_id}/end").status_code == 200
    problem_of(host.put(f"/api/v1/spaces/{space_id}/link", json=LINK), 409)
    problem_of(host.delete(f"/api/v1/spaces/{space_id}/link"), 409)
    assert _link_of(host, space_id) == LINK  # the replay keeps what was pinned
    problem_of(host.put("/api/v1/spaces/nosuchspace1/link", json=LINK), 404)


def test_a_scheduled_space_may_carry_its_link_before_it_starts(api: Api) -> None:
    host = api.sign_up("lsched")
    space = host.schedule_space("Later")
    assert host.put(f"/api/v1/spaces/{space['id']}/link", json=LINK).json()["link"] == LINK
    assert host.delete(f"/api/v1/spaces/{space['id']}/link").json()["link"] is None


@pytest.fixture
def watched_site() -> Iterator[tuple[str, list[str]]]:
    """A web server on loopback that records every request it gets."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the stdlib's name
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def do_HEAD(self) -> None:
            self.do_GET()

        def log_message(self, *_: object) -> None:
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{site.server_address[1]}/secret-admin", hits
    site.shutdown()
    site.server_close()


def test_the_server_never_fetches_a_pinned_link(
    api: Api, server: RunningServer, watched_site: tuple[str, list[str]]
) -> None:
    url, hits = watched_site
    host = api.sign_up("lssrf")
    space_id = host.create_space("No previews")["id"]
    reader = EventReader(server.base_url, f"/api/v1/spaces/{space_id}/events")
    try:
        pinned = host.put(f"/api/v1/spaces/{space_id}/link", json={"url": url, "title": "Look"})
        assert pinned.status_code == 200, pinned.text
        event = reader.wait_for("link")
        assert event["link"] == {"url": url, "title": "Look"}
        assert event["space_id"] == space_id
        api.http.get(f"/api/v1/spaces/{space_id}/snapshot")
        api.http.get(f"/spaces/{space_id}")
        assert host.delete(f"/api/v1/spaces/{space_id}/link").status_code == 200
        assert reader.wait_for("link")["link"] is None
    finally:
        reader.close()
    assert hits == []
