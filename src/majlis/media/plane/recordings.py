"""Where each Space's recording lies on this node, and its replay index.

Why off the event loop: indexing a recording walks every part's boxes in the file (mapped, not
read, but an hour of audio is ~14,000 parts and a cold file is disk reads), and the loop that
would wait for it is the one serving every listener and mixing every room.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from majlis.media.hls.vod import SegmentRange
from majlis.media.recording import RecordingIndex


class Recordings:
    def __init__(self, data_dir: Path) -> None:
        self._dir = data_dir / "recordings"

    def path(self, space_id: str) -> Path:
        return self._dir / f"{space_id}.m4a"

    async def find(self, space_id: str) -> Path | None:
        """The Space's recording file, or None when there is none."""
        path = self.path(space_id)
        return path if await asyncio.to_thread(path.is_file) else None

    async def segments(self, space_id: str) -> list[SegmentRange] | None:
        """The recording's segments for the replay playlist, or None when there is none."""
        return await asyncio.to_thread(_scan, self.path(space_id))


def _scan(path: Path) -> list[SegmentRange] | None:
    return RecordingIndex.scan(path) if path.is_file() else None
