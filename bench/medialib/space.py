"""A live Space with speakers on stage and unmuted, set up through the public API only.

Stage members arrive muted (the product's rule), and only the member may unmute themselves, so
every speaker signs in and unmutes. 13 is the most a stage holds: the host, ``MAX_COHOSTS``
cohosts and ``MAX_SPEAKERS`` speakers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from join_throughput import api
from majlis.domain.stage import MAX_COHOSTS, MAX_SPEAKERS

PASSWORD = "bench-password-1234"
MAX_STAGE = 1 + MAX_COHOSTS + MAX_SPEAKERS


@dataclass(frozen=True)
class Member:
    handle: str
    token: str


@dataclass(frozen=True)
class LiveSpace:
    base: str
    space_id: str
    hls_url: str
    dash_url: str
    #: The host first, then the guests in the order they were put on stage.
    members: tuple[Member, ...]


def sign_up(base: str, name: str) -> Member:
    """A fresh account and a session token for it."""
    handle = f"{name}_{os.getpid()}"
    account = {"handle": handle, "password": PASSWORD, "display_name": name}
    api(base, "POST", "/api/v1/accounts", account)
    session = api(base, "POST", "/api/v1/sessions", {"handle": handle, "password": PASSWORD})
    return Member(handle, session["token"])


def open_space(base: str, stage_size: int, title: str = "Media benchmark") -> LiveSpace:
    """Sign up ``stage_size`` people, open a live Space, put them all on stage, unmuted."""
    if not 1 <= stage_size <= MAX_STAGE:
        raise ValueError(f"a stage holds 1 to {MAX_STAGE} people")
    host = sign_up(base, "host")
    space = api(base, "POST", "/api/v1/spaces", {"title": title}, host.token)
    space_id: str = space["id"]
    members = [host]
    for i in range(stage_size - 1):
        guest = sign_up(base, f"guest{i}")
        role = "cohost" if i < MAX_COHOSTS else "speaker"
        path = f"/api/v1/spaces/{space_id}/stage/{guest.handle}"
        api(base, "PUT", path, {"role": role}, host.token)
        members.append(guest)
    for member in members:
        path = f"/api/v1/spaces/{space_id}/stage/{member.handle}/unmute"
        api(base, "POST", path, token=member.token)
    hls_url: str = space["hls_url"]
    if not hls_url.startswith("http"):
        hls_url = base + hls_url
    dash_url = str(space["dash_url"])
    if not dash_url.startswith("http"):
        dash_url = base + dash_url
    return LiveSpace(base, space_id, hls_url, dash_url, tuple(members))
