"""Clips for tests: wait until a live Space's recording holds enough program, and clip it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from majlis.media.clips import recorded_seconds
from tests.support.client import User
from tests.support.server import RunningServer
from tests.support.wait import eventually


def on_air(server: RunningServer, space_id: str, seconds: float) -> None:
    """Wait until the Space's recording holds ``seconds`` of program."""
    recording = Path(server.settings.data_dir) / "recordings" / f"{space_id}.m4a"
    eventually(
        lambda: recording.is_file() and recorded_seconds(recording) >= seconds,
        timeout_s=seconds + 30,
        message=f"{seconds} s recorded",
    )


def clip_of(server: RunningServer, host: User, fan: User, title: str) -> dict[str, Any]:
    """A new live Space of ``host`` titled ``title``, and a 1 s clip of it by ``fan``."""
    space = host.create_space(title)
    on_air(server, space["id"], 1.5)
    made = fan.post(f"/api/v1/spaces/{space['id']}/clips", json={"seconds": 1})
    assert made.status_code == 201, made.text
    clip: dict[str, Any] = made.json()
    return clip
