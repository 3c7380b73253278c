"""The rehearsal's Space, set up through the public API like any host would.

A host signs up and opens a live Space; ``speakers - 1`` guests sign up and are put on stage
(cohosts first, then speakers, as the stage rules allow); every stage member unmutes (members
arrive muted and only they may unmute). Sign-up is rate limited per IP, so 429 and 503 are
waited out with the jittered Retry-After every scaletest client honours.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx

from majlis.domain.stage import MAX_COHOSTS
from majlis.scaletest.backoff import RETRYABLE, retry_delay

PASSWORD = "scaletest-password-1234"


class SetupError(RuntimeError):
    """The deployment refused to set the rehearsal up; the message says what it answered."""


@dataclass(frozen=True)
class Member:
    handle: str
    token: str


@dataclass(frozen=True)
class Stage:
    space_id: str
    members: tuple[Member, ...]  # the host first; empty for a Space given by --space-id


def call(
    http: httpx.Client,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    give_up_after_s: float = 120.0,
) -> Any:
    """One JSON request, retried on 429/503 after the jittered Retry-After."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + give_up_after_s
    while True:
        response = http.request(method, path, json=body, headers=headers)
        if response.status_code in RETRYABLE and time.monotonic() < deadline:
            time.sleep(retry_delay(response.headers.get("retry-after")))
            continue
        if response.status_code >= 400:
            raise SetupError(f"{method} {path} -> {response.status_code}: {response.text[:300]}")
        return response.json() if response.content else None


def sign_up(http: httpx.Client, name: str) -> Member:
    handle = f"st_{name}_{secrets.token_hex(4)}"
    account = {"handle": handle, "password": PASSWORD, "display_name": f"Scaletest {name}"}
    call(http, "POST", "/api/v1/accounts", account)
    session = call(http, "POST", "/api/v1/sessions", {"handle": handle, "password": PASSWORD})
    return Member(handle, session["token"])


def open_stage(api_url: str, speakers: int, title: str) -> Stage:
    """A live Space with ``speakers`` unmuted stage members (at least the host)."""
    with httpx.Client(base_url=api_url, timeout=30) as http:
        host = sign_up(http, "host")
        space = call(http, "POST", "/api/v1/spaces", {"title": title}, host.token)
        space_id: str = space["id"]
        members = [host]
        for i in range(max(speakers, 1) - 1):
            guest = sign_up(http, f"guest{i}")
            role = "cohost" if i < MAX_COHOSTS else "speaker"
            call(
                http,
                "PUT",
                f"/api/v1/spaces/{space_id}/stage/{guest.handle}",
                {"role": role},
                host.token,
            )
            members.append(guest)
        for member in members:
            call(
                http,
                "POST",
                f"/api/v1/spaces/{space_id}/stage/{member.handle}/unmute",
                token=member.token,
            )
    return Stage(space_id, tuple(members))


def check_live(api_url: str, space_id: str) -> None:
    """A Space given with --space-id must exist and be live, or the run would measure nothing."""
    with httpx.Client(base_url=api_url, timeout=30) as http:
        space = call(http, "GET", f"/api/v1/spaces/{space_id}")
    if space["state"] != "live":
        raise SetupError(f"Space {space_id} is {space['state']}, not live")


def end_space(api_url: str, stage: Stage) -> None:
    """End the rehearsal's Space (only one we created), so it does not stay live."""
    if not stage.members:
        return
    with httpx.Client(base_url=api_url, timeout=30) as http:
        call(http, "POST", f"/api/v1/spaces/{stage.space_id}/end", token=stage.members[0].token)
