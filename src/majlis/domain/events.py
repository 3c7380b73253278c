"""Event topics and shapes on the bus. These are the seams the media plane listens to.

- ``space:<id>``: everything about one Space (state, stage, mute, removal, requests, reactions);
  public, relayed as-is to the Space's Server-Sent Events stream.
- ``spaces``: lifecycle of every Space (live, ended), for the media plane and notification streams.
- ``account:<id>``: one person's personal notices, for their notification stream.
"""

from __future__ import annotations

from typing import Any

from majlis.types import JSON

SPACES_TOPIC = "spaces"


def space_topic(space_id: str) -> str:
    return f"space:{space_id}"


def account_topic(account_id: int) -> str:
    return f"account:{account_id}"


def event(type_: str, /, **fields: Any) -> JSON:
    return {"type": type_, **fields}


#: On an account's topic (for its inbox streams) and on ``SESSIONS_TOPIC`` (for the media
#: planes, which close its WHIP sessions): the session ``session`` ended.
SESSION_ENDED = "session_ended"
SESSIONS_TOPIC = "sessions"
