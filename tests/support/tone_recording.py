"""A recording made in the test itself: a tone through the real packager into a ``Recorder``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from majlis.media.hls.packager import Packager
from majlis.media.recording import Recorder

RATE = 48000


def record(path: Path, seconds: float) -> tuple[int, list[int]]:
    """Record a 440 Hz tone; returns the init length and the file offset after each part."""
    holder: list[Recorder] = []
    ends: list[int] = []

    def on_part(data: bytes, _: float) -> None:
        holder[0].append(data)
        ends.append(holder[0].bytes_written)

    packager = Packager(on_part)
    holder.append(Recorder(path, packager.init))
    t = np.arange(round(seconds * RATE)) / RATE
    packager.push((0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))
    packager.flush()
    holder[0].close()
    return len(packager.init), ends
