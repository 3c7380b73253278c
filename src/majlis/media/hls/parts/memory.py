"""The single-node part store: attached streams, served where they run (the Redis one
builds on it)."""

from __future__ import annotations

from majlis.media.hls.parts.protocol import HlsSource, StateTest
from majlis.media.hls.stream import (
    LiveStream,
    StreamState,
)


class LocalSource:
    """An ``HlsSource`` over a stream of this node."""

    def __init__(self, stream: LiveStream) -> None:
        self.stream = stream

    async def playlist(self, msn: int | None, part: int | None, timeout_s: float) -> str:
        return await self.stream.playlist(msn, part, timeout_s)

    async def part(self, msn: int, index: int, timeout_s: float) -> bytes | None:
        return await self.stream.part(msn, index, timeout_s)

    async def segment(self, msn: int) -> bytes | None:
        return self.stream.segment(msn)

    async def init(self) -> bytes | None:
        return self.stream.init

    def current(self) -> StreamState:
        return self.stream.state()

    async def wait_until(self, ready: StateTest, timeout_s: float) -> None:
        await self.stream.wait_until(ready, timeout_s)


class MemoryPartStore:
    def __init__(self) -> None:
        self.streams: dict[str, LiveStream] = {}

    def attach(self, space_id: str, stream: LiveStream) -> None:
        self.streams[space_id] = stream

    def detach(self, space_id: str, stream: LiveStream) -> None:
        if self.streams.get(space_id) is stream:
            del self.streams[space_id]

    async def source(self, space_id: str) -> HlsSource | None:
        stream = self.streams.get(space_id)
        return LocalSource(stream) if stream is not None else None

    async def last_state(self, space_id: str) -> StreamState | None:
        return None

    async def aclose(self) -> None:
        self.streams.clear()
