"""A thin client for the public API, so tests read as a user's story."""

from __future__ import annotations

import re
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.support.wait import eventually

PASSWORD = "correct horse battery"

#: One TLS context for every client the tests open. By default each ``httpx.Client`` builds its
#: own, reading the whole CA bundle (~30 ms); the suite opens thousands of clients (one per
#: test at least, and one per poll in some waits), which added up to minutes. The tests speak
#: plain HTTP on loopback; sharing the context changes nothing about what a client verifies.
TLS = httpx.create_ssl_context()


def problem_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert ``response`` is an RFC 9457 problem with ``status`` and a readable detail."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and len(body["detail"]) > 5
    assert body["type"].startswith("urn:majlis:problem:")
    return body


@dataclass
class User:
    handle: str
    token: str
    api: Api

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.api.http.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def create_space(self, title: str = "A Space", **fields: Any) -> dict[str, Any]:
        response = self.post("/api/v1/spaces", json={"title": title, **fields})
        assert response.status_code == 201, response.text
        space: dict[str, Any] = response.json()
        return space

    def schedule_space(self, title: str = "Later", hours: float = 2) -> dict[str, Any]:
        start = (datetime.now(UTC) + timedelta(hours=hours)).isoformat()
        return self.create_space(title, scheduled_start=start)

    def follow(self, other: User) -> None:
        response = self.post(f"/api/v1/accounts/{other.handle}/follow")
        assert response.status_code == 204, response.text


class Api:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=10, verify=TLS)

    def close(self) -> None:
        self.http.close()

    def sign_up(self, prefix: str = "u", display_name: str | None = None) -> User:
        handle = f"{prefix}_{secrets.token_hex(5)}"
        response = self.http.post(
            "/api/v1/accounts",
            json={"handle": handle, "password": PASSWORD, "display_name": display_name or handle},
        )
        assert response.status_code == 201, response.text
        return self.sign_in(handle)

    def sign_in(self, handle: str, password: str = PASSWORD) -> User:
        response = self.http.post("/api/v1/sessions", json={"handle": handle, "password": password})
        assert response.status_code == 201, response.text
        return User(handle=handle, token=response.json()["token"], api=self)

    def space(self, space_id: str) -> dict[str, Any]:
        response = self.http.get(f"/api/v1/spaces/{space_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def stage_of(self, space_id: str) -> dict[str, tuple[str, bool]]:
        return {m["handle"]: (m["role"], m["muted"]) for m in self.space(space_id)["stage"]}


def wait_for_live_stream(http: httpx.Client, space_id: str, timeout_s: float = 30) -> None:
    """Until the Space's live playlist answers 200: a room opens a moment after going live (the
    lifecycle event, then placement), and a loaded machine stretches that moment."""

    def answers() -> bool:
        status = http.get(f"/hls/{space_id}/live.m3u8").status_code
        assert status == 200, f"the live playlist still answers {status}"
        return True

    eventually(answers, timeout_s=timeout_s, message=f"Space {space_id} never went live")


#: A complete segment in a live playlist (parts are listed as ``<msn>.<part>.m4s``).
_SEGMENT = re.compile(r"^(\d+)\.m4s$", re.M)
_MEDIA_SEQUENCE = re.compile(r"^#EXT-X-MEDIA-SEQUENCE:(\d+)$", re.M)


def live_segments(playlist: str) -> list[int]:
    """The media sequence numbers of the complete segments a live playlist lists."""
    return [int(msn) for msn in _SEGMENT.findall(playlist)]


def segment_in_progress(http: httpx.Client, space_id: str) -> int:
    """The media sequence number of the segment the Space's program is cutting right now."""
    response = http.get(f"/hls/{space_id}/live.m3u8")
    assert response.status_code == 200, response.text
    listed = live_segments(response.text)
    if listed:
        return max(listed) + 1
    found = _MEDIA_SEQUENCE.search(response.text)
    assert found, response.text
    return int(found[1])


def wait_for_new_segment(
    http: httpx.Client, space_id: str, ahead: int = 1, timeout_s: float = 30
) -> int:
    """Until the live playlist lists, complete, the ``ahead``-th segment after the one being cut
    now, and return its media sequence number: a whole segment (2 s) of what the program carries
    from now on. ``ahead=2`` leaves a segment's margin: for the encoder's last ~60 ms of frames
    mixed before now, and for what else catches up in its own time (a speaker's ears, the
    speaking snapshot).

    What a test used to sleep for ("past a full 2 s segment"), asked of the playlist."""
    msn = segment_in_progress(http, space_id) + ahead

    def listed() -> bool:
        response = http.get(f"/hls/{space_id}/live.m3u8")
        assert response.status_code == 200, response.text
        newest = max(live_segments(response.text), default=None)
        assert newest is not None and newest >= msn, f"the newest segment is {newest}"
        return True

    eventually(listed, timeout_s=timeout_s, message=f"segment {msn} of {space_id} never came")
    return msn


def on_stage(host: User, guest: User, space_id: str) -> None:
    """``host`` puts ``guest`` on the stage of ``space_id``; the guest unmutes (new stage members
    arrive muted)."""
    assert (
        host.put(
            f"/api/v1/spaces/{space_id}/stage/{guest.handle}", json={"role": "speaker"}
        ).status_code
        == 200
    )
    assert guest.post(f"/api/v1/spaces/{space_id}/stage/{guest.handle}/unmute").status_code == 204


def settled(response: httpx.Response) -> httpx.Response:
    """After a 500, wait until the server has logged it, before the test fails on it.

    uvicorn logs the traceback of a 500 after sending it; Python 3.11's traceback formatter
    and pytest's failure report both call ``ast.parse``, whose recursion bookkeeping is not
    thread-safe in 3.11, and the two running at once crash pytest (INTERNALERROR, "AST
    constructor recursion depth mismatch"). Only tests that expect a 500 (xfail) need this.
    uvicorn closes the connection right after that log line, which the client can see.
    """
    if response.status_code == 500:
        sock = response.extensions["network_stream"].get_extra_info("socket")
        eventually(
            lambda: _closed_by_the_server(sock),
            message=f"the server kept open the connection of its 500: {response.text[:300]}",
        )
    return response


def _closed_by_the_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False  # open, nothing to read
    except OSError:
        return True  # reset, or closed on this side already
