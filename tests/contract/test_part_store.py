"""The shared part store's contract, over both backends: a stream attached on one "node" is
served, byte for byte and with blocking reloads, by ``source()`` on another.

In memory the two nodes are one (the single-node product: a stream is served where it runs);
on Redis they are two stores with their own connections and event buses, as two processes.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis

from majlis.live.redis_backend import RedisEventBus
from majlis.media.hls.shared import HlsSource, MemoryPartStore, PartStore, RedisPartStore
from majlis.media.hls.stream import BadDirective, LiveStream, NotYet
from tests.services import redis_url
from tests.support.wait import eventually_async

PART_S = 0.256
PPS = 4


@dataclass
class Nodes:
    media: PartStore
    reader: PartStore


Scenario = Callable[[Nodes], Awaitable[None]]


async def _in_backend(backend: str, scenario: Scenario) -> None:
    if backend == "memory":
        store = MemoryPartStore()
        try:
            await scenario(Nodes(store, store))
        finally:
            await store.aclose()
        return
    url, prefix = redis_url(), f"majlis-test-{secrets.token_hex(4)}:"
    buses, stores, bus_redis = [], [], []
    for _ in range(2):
        bus_redis.append(Redis.from_url(url))
        bus = RedisEventBus(bus_redis[-1], prefix)
        buses.append(bus)
        stores.append(RedisPartStore(Redis.from_url(url), bus, prefix))
    try:
        await scenario(Nodes(*stores))
    finally:
        cleaner = Redis.from_url(url)
        stale = [key async for key in cleaner.scan_iter(match=prefix + "*")]
        if stale:
            await cleaner.delete(*stale)
        await cleaner.aclose()
        for store in stores:
            await store.aclose()
        for bus in buses:
            await bus.aclose()
        for redis in bus_redis:
            await redis.aclose()


def _stream() -> LiveStream:
    stream = LiveStream(PART_S, PPS, window_segments=6)
    stream.set_init(b"init-bytes")
    return stream


def _part(msn: int, index: int) -> bytes:
    return f"part {msn}.{index}".encode() * 10


def _publish(stream: LiveStream, count: int) -> None:
    for _ in range(count):
        msn, index = stream.state().hinted
        stream.publish(_part(msn, index), PART_S)


async def _source(nodes: Nodes, space_id: str, stream: LiveStream) -> HlsSource:
    """The reader's view, once it has caught up with everything published so far."""

    async def caught_up() -> HlsSource | None:
        source = await nodes.reader.source(space_id)
        if source is not None and await source.playlist(None, None, 1) == stream.render():
            return source
        return None

    source = await eventually_async(
        caught_up, interval_s=0.01, message="the reader never saw the published stream"
    )
    assert source is not None
    return source


async def an_unknown_space_has_no_source(nodes: Nodes) -> None:
    assert await nodes.reader.source("nope") is None


async def parts_segments_and_init_are_served_byte_for_byte(nodes: Nodes) -> None:
    stream = _stream()
    nodes.media.attach("s1", stream)
    _publish(stream, PPS + 2)  # one complete segment and two parts of the next
    source = await _source(nodes, "s1", stream)
    assert await source.init() == b"init-bytes"
    assert await source.part(1, 1, 1) == _part(1, 1)
    assert await source.segment(0) == b"".join(_part(0, i) for i in range(PPS))
    assert await source.segment(1) is None  # not complete
    assert await source.part(7, 0, 1) is None  # neither published nor hinted: 404 at once


async def a_blocking_reload_waits_for_the_part_it_names(nodes: Nodes) -> None:
    stream = _stream()
    nodes.media.attach("s2", stream)
    _publish(stream, 3)
    source = await _source(nodes, "s2", stream)
    waiting = asyncio.ensure_future(source.playlist(0, 3, 5))
    hinted = asyncio.ensure_future(source.part(0, 3, 5))
    await asyncio.sleep(0.1)  # a while in which neither may be answered
    assert not waiting.done() and not hinted.done()
    _publish(stream, 1)
    text = await asyncio.wait_for(waiting, 5)
    assert 'URI="0.3.m4s"' in text and "#EXTINF" in text  # segment 0 completed with it
    assert await asyncio.wait_for(hinted, 5) == _part(0, 3)


async def bad_directives_and_timeouts_are_refused_alike(nodes: Nodes) -> None:
    stream = _stream()
    nodes.media.attach("s3", stream)
    _publish(stream, 2)
    source = await _source(nodes, "s3", stream)
    with pytest.raises(BadDirective):
        await source.playlist(None, 1, 1)
    with pytest.raises(BadDirective):
        await source.playlist(9, None, 1)
    with pytest.raises(NotYet):
        await source.playlist(0, 3, 0.2)


async def the_end_reaches_every_reader(nodes: Nodes) -> None:
    stream = _stream()
    nodes.media.attach("s4", stream)
    _publish(stream, 2)
    source = await _source(nodes, "s4", stream)
    waiting = asyncio.ensure_future(source.playlist(1, 0, 5))
    stream.end()
    text = await asyncio.wait_for(waiting, 5)
    assert text.endswith("#EXT-X-ENDLIST\n")
    assert await source.playlist(5, None, 1) == text  # directives are ignored after the end


SCENARIOS = [
    an_unknown_space_has_no_source,
    parts_segments_and_init_are_served_byte_for_byte,
    a_blocking_reload_waits_for_the_part_it_names,
    bad_directives_and_timeouts_are_refused_alike,
    the_end_reaches_every_reader,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("backend", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
def test_part_store(backend: str, scenario: Scenario) -> None:
    asyncio.run(_in_backend(backend, scenario))
