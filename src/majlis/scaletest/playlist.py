"""Just enough LL-HLS playlist reading for a synthetic listener: the parts and the hinted one.

Both listeners (Locust users) and probes (asyncio) follow the playlist the way hls.js does in
low-latency mode: a blocking reload naming the next part (``_HLS_msn``/``_HLS_part``), then
that part, whose URL is immutable — which is exactly what lets an edge collapse the audience.
Each answer is parsed once (``Playlist.of``): at 2,000 listeners on one generator core, the
parsing is a real share of the generator's CPU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

_PART = re.compile(r'^#EXT-X-PART:DURATION=([\d.]+),URI="(\d+)\.(\d+)\.m4s"', re.MULTILINE)
_HINT = re.compile(r'^#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(\d+)\.(\d+)\.m4s"', re.MULTILINE)


class PartRef(NamedTuple):
    """A listed part. A tuple, not a dataclass: a generator core builds ~100k of them a second."""

    msn: int
    part: int  # its index in the segment (``index`` is a tuple method)
    duration_s: float

    @property
    def key(self) -> tuple[int, int]:
        return (self.msn, self.part)

    @property
    def name(self) -> str:
        return f"{self.msn}.{self.part}.m4s"


@dataclass(frozen=True)
class Playlist:
    parts: tuple[PartRef, ...]  # oldest first
    hint: tuple[int, int] | None  # the part the server will publish next, if live

    @classmethod
    def of(cls, text: str) -> Playlist:
        parts = tuple(PartRef(int(m[2]), int(m[3]), float(m[1])) for m in _PART.finditer(text))
        m = _HINT.search(text)
        hint = (int(m[1]), int(m[2])) if m else None
        return cls(parts, hint)

    def find(self, msn: int, index: int) -> PartRef | None:
        """The part (msn, index), or — when the segment closed before it — (msn + 1, 0)."""
        for wanted in ((msn, index), (msn + 1, 0)):
            for part in reversed(self.parts):
                if part.key == wanted:
                    return part
        return None

    def behind(self, ref: PartRef) -> int:
        """How many listed parts are newer than ``ref``: how far behind live its listener is."""
        return sum(1 for p in self.parts if p.key > ref.key)

    def following(self, ref: PartRef) -> tuple[int, int] | None:
        """The part after ``ref``: the next one listed, else the preload hint.

        Asking for exactly what the server names (``(msn + 1, 0)`` after a segment's last
        part, not ``(msn, last + 1)``) keeps every listener on the same blocking-reload URLs,
        so an edge holds one cache key per part and asks the origin once.
        """
        later = [p.key for p in self.parts if p.key > ref.key]
        return min(later) if later else self.hint


def hls_base(hls_url: str) -> str:
    """The directory of a playlist URL: where its parts and init segment live."""
    return hls_url.split("?", 1)[0].rsplit("/", 1)[0] + "/"


def path_of(url: str) -> str:
    """The path (and query) of a URL the server gave, absolute or not: the run decides hosts."""
    if "://" in url:
        rest = url.split("://", 1)[1]
        return "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    return url
