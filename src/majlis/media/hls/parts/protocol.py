"""The shared part store: any origin node answers any live Space's playlists and parts.

Why a shared store and not routing by node at the edge (docs/architecture.md, "Placement"): the
edge then needs to know nothing about placement, a failover changes nothing in front of the
origin, and an API node that dies costs listeners nothing (the edge asks another one). The
cost is one copy of each part into Redis (~4 parts/s of ~2 KB per live Space) and one small
message per part to the nodes that are serving that Space right now.

Two halves, one contract (tests/contract/test_part_store.py):

- the media node *attaches* each room's ``LiveStream``; every change is copied out (a part's
  bytes, the completed segment's bytes, the playlist ``StreamState``);
- any node asks ``source(space_id)`` for an ``HlsSource`` and serves requests from it:
  the local stream when the room runs here, else (Redis) a ``RemoteStream`` that mirrors the
  state from the event bus and reads part bytes from Redis.

``memory.py`` is the single-node product (attached streams, served where they run);
``redis.py`` copies out and mirrors across nodes; ``build.py`` picks one.
"""

from __future__ import annotations

from typing import Protocol

from majlis.media.hls.stream import (
    LiveStream,
    StreamState,
)


class HlsSource(Protocol):
    """What the LL-HLS routes serve from: a live stream, here or on another node."""

    async def playlist(self, msn: int | None, part: int | None, timeout_s: float) -> str: ...

    async def part(self, msn: int, index: int, timeout_s: float) -> bytes | None: ...

    async def segment(self, msn: int) -> bytes | None: ...

    async def init(self) -> bytes | None: ...

    def current(self) -> StreamState:
        """The stream's state as this node knows it now."""

    async def wait_until(self, ready: StateTest, timeout_s: float) -> None:
        """Return once ``ready(state)`` holds; ``NotYet`` if ``timeout_s`` passes first."""


class PartStore(Protocol):
    def attach(self, space_id: str, stream: LiveStream) -> None:
        """Serve (and, shared, copy out) ``stream`` as ``space_id``'s from now on."""

    def detach(self, space_id: str, stream: LiveStream) -> None:
        """``stream`` is no longer served here (its grace after the end is over)."""

    async def source(self, space_id: str) -> HlsSource | None:
        """Where to serve ``space_id`` from, or None: not live anywhere (404)."""

    async def last_state(self, space_id: str) -> StreamState | None:
        """The newest state any *other* node published for ``space_id``, unless it ended: a
        room opened after a failover continues that stream. Always None in memory."""

    async def aclose(self) -> None: ...


def hls_topic(space_id: str) -> str:
    return f"hls:{space_id}"


class StateTest(Protocol):
    def __call__(self, state: StreamState, /) -> bool: ...
