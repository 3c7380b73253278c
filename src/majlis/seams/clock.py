"""One monotonic-ish wall clock for the live seams, so tests can drive time explicitly."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def __call__(self) -> float: ...


def wall_clock() -> float:
    """Wall time in seconds; the seams use windows aligned to it so every node agrees on them."""
    return time.time()
