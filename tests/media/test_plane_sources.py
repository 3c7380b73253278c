"""A request for a stream that is about to start waits on an event, not a polling loop: it looks
once, sleeps until this node attaches a room's streams (or, with a shared store, the owner node
publishes the stream's first state on ``hls:<key>``), and looks once more."""

from __future__ import annotations

import asyncio

from majlis.media.hls.parts.memory import MemoryPartStore
from majlis.media.hls.parts.protocol import HlsSource, hls_topic
from majlis.media.hls.stream import LiveStream
from majlis.media.plane.sources import Sources
from majlis.seams.bus.memory import MemoryEventBus


class CountingParts(MemoryPartStore):
    """A part store that counts the lookups, and may serve a stream "from another node"."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0
        self.looked = asyncio.Condition()
        self.remote: dict[str, LiveStream] = {}

    async def source(self, space_id: str) -> HlsSource | None:
        async with self.looked:
            self.lookups += 1
            self.looked.notify_all()
        local = await super().source(space_id)
        if local is not None or space_id not in self.remote:
            return local
        self.attach(space_id, self.remote[space_id])
        return await super().source(space_id)


async def _until_looked(parts: CountingParts, times: int) -> None:
    """Until the waiting request has looked ``times`` times (it is asleep again then)."""
    async with parts.looked:
        await parts.looked.wait_for(lambda: parts.lookups >= times)


def test_a_waiting_request_wakes_when_this_node_attaches_the_stream() -> None:
    async def scenario() -> None:
        parts = CountingParts()
        sources = Sources(parts, MemoryEventBus(), shared=False)
        waiting = asyncio.create_task(sources.within("s1", timeout_s=30))
        await _until_looked(parts, 1)
        sources.attached()  # another Space's room: looks again, still nothing
        await _until_looked(parts, 2)
        parts.attach("s1", stream := LiveStream(0.256, 8))
        sources.attached()
        source = await waiting
        assert source is not None and source.current() == stream.state()
        assert parts.lookups == 3  # once, then once per attach: never on a clock

    asyncio.run(scenario())


def test_a_waiting_request_wakes_when_another_node_publishes_the_stream() -> None:
    async def scenario() -> None:
        parts, bus = CountingParts(), MemoryEventBus()
        sources = Sources(parts, bus, shared=True)
        waiting = asyncio.create_task(sources.within("s2.opus", timeout_s=30))
        await _until_looked(parts, 1)
        parts.remote["s2.opus"] = LiveStream(0.48, 4)  # its state is stored, then announced
        await bus.publish(hls_topic("s2.opus"), {"ended": False})
        assert await waiting is not None
        assert parts.lookups == 2

    asyncio.run(scenario())


def test_a_stream_that_never_appears_is_none_at_the_bound() -> None:
    async def scenario() -> None:
        parts, bus = CountingParts(), MemoryEventBus()
        # The bound itself is what is under test here (a short one, so the test is quick).
        assert await Sources(parts, bus, shared=True).within("s3", timeout_s=0.05) is None
        assert parts.lookups == 1

    asyncio.run(scenario())
