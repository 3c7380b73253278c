"""The shared part store's contract, over both backends: a stream attached on one "node" is
served, byte for byte and with blocking reloads, by ``source()`` on another.

In memory the two nodes are one (the single-node product: a stream is served where it runs);
on Redis they are two stores with their own connections and event buses, as two processes.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis

from majlis.media.dash.segments import MAX_AHEAD, TooFarAhead, open_segment
from majlis.media.hls.parts.memory import MemoryPartStore
from majlis.media.hls.parts.protocol import HlsSource, PartStore
from majlis.media.hls.parts.redis import RedisPartStore
from majlis.media.hls.stream import BadDirective, LiveStream, NotYet
from majlis.media.program_streams import AAC, OPUS, attach, last_states, stream_key
from majlis.seams.bus.redis import RedisEventBus
from majlis.seams.redis_client import redis_client
from tests.support.services import redis_url
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
    for _ in range(2):  # two nodes, each with its one client, as seams.build makes them
        bus_redis.append(redis_client(url))
        bus = RedisEventBus(bus_redis[-1], prefix)
        buses.append(bus)
        stores.append(RedisPartStore(bus_redis[-1], bus, prefix))
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


async def _chunks_so_far(chunks: AsyncIterator[bytes], count: int) -> list[bytes]:
    return [await asyncio.wait_for(anext(chunks), 5) for _ in range(count)]


async def a_growing_segment_streams_each_chunk_as_it_is_published(nodes: Nodes) -> None:
    stream = _stream()
    nodes.media.attach("s5", stream)
    _publish(stream, 2)
    source = await _source(nodes, "s5", stream)
    anchor = source.current().anchor
    assert anchor is not None and anchor.first_msn == 0  # what the MPD is made of
    chunks = await open_segment(source, 0, 5)
    assert chunks is not None
    assert await _chunks_so_far(chunks, 2) == [_part(0, 0), _part(0, 1)]
    pending = asyncio.ensure_future(anext(chunks))
    await asyncio.sleep(0.1)  # a while in which the unpublished chunk may not be sent
    assert not pending.done()
    _publish(stream, 1)
    assert await asyncio.wait_for(pending, 5) == _part(0, 2)
    _publish(stream, PPS)  # the rest of segment 0 and most of segment 1
    rest = [chunk async for chunk in chunks]
    assert b"".join([_part(0, 0), _part(0, 1), _part(0, 2), *rest]) == await source.segment(0)


async def a_segment_not_begun_waits_and_one_too_far_ahead_is_refused(nodes: Nodes) -> None:
    stream = _stream()
    nodes.media.attach("s6", stream)
    _publish(stream, PPS - 1)
    source = await _source(nodes, "s6", stream)
    with pytest.raises(TooFarAhead):
        await open_segment(source, 1 + MAX_AHEAD, 5)  # the live segment is 0
    with pytest.raises(NotYet):
        await open_segment(source, 1, 0.2)  # next, but it did not begin in time
    opening = asyncio.ensure_future(open_segment(source, 1, 5))
    _publish(stream, 2)  # completes segment 0, begins segment 1
    chunks = await asyncio.wait_for(opening, 5)
    assert chunks is not None and await anext(chunks) == _part(1, 0)


async def a_segment_ends_with_its_stream(nodes: Nodes) -> None:
    stream = _stream()
    nodes.media.attach("s7", stream)
    _publish(stream, 2)
    source = await _source(nodes, "s7", stream)
    chunks = await open_segment(source, 0, 5)
    assert chunks is not None
    await _chunks_so_far(chunks, 2)
    stream.end()  # the last segment is shorter: its body ends with the stream
    assert [chunk async for chunk in chunks] == []
    assert await open_segment(source, 1, 5) is None  # never to come: 404


async def a_segment_may_be_sent_in_chunks_of_several_parts(nodes: Nodes) -> None:
    stream = _stream()
    nodes.media.attach("s8", stream)
    _publish(stream, 1)
    source = await _source(nodes, "s8", stream)
    opening = asyncio.ensure_future(open_segment(source, 0, 5, parts_per_chunk=2))
    await asyncio.sleep(0.1)  # a while in which half a chunk may not be sent
    assert not opening.done()
    _publish(stream, PPS - 1)  # the rest of segment 0
    chunks = await asyncio.wait_for(opening, 5)
    assert chunks is not None
    assert [chunk async for chunk in chunks] == [
        _part(0, 0) + _part(0, 1),
        _part(0, 2) + _part(0, 3),
    ]


async def each_rendition_of_a_space_is_its_own_stream(nodes: Nodes) -> None:
    """A Space's AAC stream keeps the Space id as its key (LL-HLS unchanged), its Opus stream
    has its own (program_streams.stream_key): bytes, init, parts and last states apart."""
    aac, opus = _stream(), LiveStream(0.48, 4, window_segments=6)
    opus.set_init(b"opus-init")
    attach(nodes.media, "s9", {AAC: aac, OPUS: opus})
    _publish(aac, PPS + 1)
    for index in range(3):
        opus.publish(b"opus " + _part(0, index), 0.48)
    aac_source = await _source(nodes, "s9", aac)
    opus_source = await _source(nodes, stream_key("s9", OPUS), opus)
    assert (await aac_source.init(), await opus_source.init()) == (b"init-bytes", b"opus-init")
    assert await aac_source.part(0, 1, 1) == _part(0, 1)
    assert await opus_source.part(0, 1, 1) == b"opus " + _part(0, 1)
    assert await opus_source.segment(0) is None  # AAC's segment 0 is complete, Opus's is not
    assert opus_source.current().part_target_s == 0.48
    # What a room opened after a failover continues: each rendition's own last state (in
    # memory there is no other node, so nothing to continue).
    states = await last_states(nodes.reader, "s9")
    if isinstance(nodes.reader, RedisPartStore):
        assert {r: s.hinted if s else None for r, s in states.items()} == {
            AAC: aac.state().hinted,
            OPUS: opus.state().hinted,
        }
    else:
        assert states == {AAC: None, OPUS: None}


SCENARIOS = [
    an_unknown_space_has_no_source,
    parts_segments_and_init_are_served_byte_for_byte,
    a_blocking_reload_waits_for_the_part_it_names,
    bad_directives_and_timeouts_are_refused_alike,
    the_end_reaches_every_reader,
    a_growing_segment_streams_each_chunk_as_it_is_published,
    a_segment_not_begun_waits_and_one_too_far_ahead_is_refused,
    a_segment_ends_with_its_stream,
    a_segment_may_be_sent_in_chunks_of_several_parts,
    each_rendition_of_a_space_is_its_own_stream,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("backend", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
def test_part_store(backend: str, scenario: Scenario) -> None:
    asyncio.run(_in_backend(backend, scenario))
