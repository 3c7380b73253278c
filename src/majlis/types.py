"""Aliases shared across the package, kept in one place so signatures read alike."""

from __future__ import annotations

from typing import Any, Literal

JSON = dict[str, Any]
SpaceId = str
AccountId = int
Role = Literal["host", "cohost", "speaker"]
SpaceState = Literal["scheduled", "live", "ended"]
