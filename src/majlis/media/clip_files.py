"""Where clips' audio files lie (``<data_dir>/clips/<id>.m4a``, beside the recordings they are
cut from), and the cutting itself, on a worker thread (``clips.py`` says how).

Why beside the recordings: a cluster's nodes already share the data directory for recordings
(a Space that fails over keeps appending to its file), so any node that can read a recording
can cut it, and any node can serve the clip.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from majlis.domain.errors import Conflict, NotFound, Overloaded
from majlis.media.clips import ClipRange, NothingToClip, cut_last, cut_range

log = logging.getLogger(__name__)


class ClipFiles:
    """``domain.clips.ClipCutter`` over this node's data directory."""

    def __init__(self, data_dir: Path) -> None:
        self._recordings = data_dir / "recordings"
        self._dir = data_dir / "clips"

    def path(self, clip_id: str) -> Path:
        return self._dir / f"{clip_id}.m4a"

    async def cut_last(self, space_id: str, clip_id: str, seconds: float) -> tuple[float, float]:
        recording = await self._recording(space_id)
        return await self._run(lambda: cut_last(recording, seconds, self._target(clip_id)))

    async def cut_range(
        self, space_id: str, clip_id: str, start: float, end: float
    ) -> tuple[float, float]:
        recording = await self._recording(space_id)
        return await self._run(lambda: cut_range(recording, start, end, self._target(clip_id)))

    async def find(self, clip_id: str) -> Path | None:
        path = self.path(clip_id)
        return path if await asyncio.to_thread(path.is_file) else None

    async def remove(self, clip_id: str) -> None:
        await asyncio.to_thread(self.path(clip_id).unlink, missing_ok=True)

    def _target(self, clip_id: str) -> Path:
        self._dir.mkdir(parents=True, exist_ok=True)
        return self.path(clip_id)

    async def _recording(self, space_id: str) -> Path:
        path = self._recordings / f"{space_id}.m4a"
        if not await asyncio.to_thread(path.is_file):
            raise NotFound("this Space has no recording to clip")
        return path

    @staticmethod
    async def _run(cut: Callable[[], ClipRange]) -> tuple[float, float]:
        try:
            made = await asyncio.to_thread(cut)
        except NothingToClip as exc:
            raise Conflict(str(exc)) from exc
        except OSError as exc:
            # A full disk, a data directory gone read-only: the node's trouble, not the
            # clipper's. Said as such (503, try later); the half-written file is already gone.
            log.error("clips: could not write a clip: %s", exc)
            raise Overloaded(
                "this node cannot write clips right now; try again later", retry_after_s=30
            ) from exc
        return made.start, made.duration
