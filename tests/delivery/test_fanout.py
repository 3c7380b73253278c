"""The feeder's two parsers of bytes it did not write: the chunk splitter (the origin's segment
body, cut however TCP cut it) and the loopback HTTP client (nginx's answers), against a real
socket server that closes kept-alive connections the way nginx does."""

from __future__ import annotations

import asyncio
import itertools
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from majlis.delivery.fanout import ChunkSplitter
from majlis.delivery.loopback_http import LoopbackError, LoopbackHttp
from tests.support.wait import eventually_async


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


chunk_strategy = st.builds(
    lambda moof, mdat: box(b"moof", moof) + box(b"mdat", mdat),
    st.binary(max_size=40),
    st.binary(max_size=300),
)


@given(
    chunks=st.lists(chunk_strategy, min_size=1, max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=30),
    styp=st.booleans(),
)
def test_chunks_come_out_whole_however_the_bytes_were_cut(
    chunks: list[bytes], cuts: list[int], styp: bool
) -> None:
    if styp:  # a segment may open with a styp box: it travels with the first chunk
        chunks = [box(b"styp", b"msdhmsix"), *chunks]
        expected = [chunks[0] + chunks[1], *chunks[2:]]
    else:
        expected = chunks
    stream = b"".join(chunks)
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    splitter = ChunkSplitter()
    out: list[bytes] = []
    for start, end in itertools.pairwise(points):
        out += splitter.feed(stream[start:end])
    assert out == expected
    assert splitter.leftover == 0


def test_a_broken_off_body_leaves_what_ends_no_chunk() -> None:
    whole = box(b"moof", b"m") + box(b"mdat", b"audio")
    splitter = ChunkSplitter()
    assert splitter.feed(whole + whole[:10]) == [whole]
    assert splitter.leftover == 10


def test_a_box_size_below_its_header_is_refused() -> None:
    with pytest.raises(ValueError, match="box size"):
        ChunkSplitter().feed(struct.pack(">I", 3) + b"mdat")


async def _serve(answers: list[bytes], close_after: set[int]) -> tuple[asyncio.Server, list[bytes]]:
    """A server that answers the n-th request with ``answers[n]`` and closes the connection
    after the requests whose index is in ``close_after`` (without saying so, as nginx + Nchan
    does after a live segment)."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        OPEN.add(writer)
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
            seen.append(head + await reader.readexactly(length))
            index = len(seen) - 1
            writer.write(answers[index])
            await writer.drain()
            if index in close_after:
                break
        writer.close()
        await writer.wait_closed()
        OPEN.discard(writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, seen


#: The server side of connections still open (a test ends once the client's are seen closed).
OPEN: set[asyncio.StreamWriter] = set()


async def _stop(server: asyncio.Server, client: LoopbackHttp) -> None:
    client.close()
    # Each handler sees the client's close, closes its side and leaves.
    await eventually_async(lambda: not OPEN, message="a connection stayed open at the server")
    server.close()
    await server.wait_closed()


def test_the_client_reads_both_framings_and_replaces_a_closed_connection() -> None:
    async def scenario() -> None:
        answers = [
            b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
        ]
        server, seen = await _serve(answers, close_after={1})
        port = server.sockets[0].getsockname()[1]
        client = LoopbackHttp("127.0.0.1", port)
        try:
            first = await client.request("POST", "/_majlis_feed/a/aac/1", b"chunk")
            second = await client.request("GET", "/_majlis_feed/a/aac/1")
            third = await client.request("DELETE", "/_majlis_feed/a/aac/1")  # on a new connection
        finally:
            await _stop(server, client)
        assert (first.status, first.body) == (201, b"hello")
        assert (second.status, second.body) == (200, b"abcde")
        assert third.status == 202
        assert seen[0].startswith(b"POST /_majlis_feed/a/aac/1 HTTP/1.1\r\n")
        assert seen[0].endswith(b"\r\n\r\nchunk")
        assert len(seen) == 3

    asyncio.run(scenario())


def test_an_answer_that_is_not_http_is_an_error() -> None:
    async def scenario() -> None:
        server, _ = await _serve([b"SSH-2.0-OpenSSH\r\n\r\n"], close_after={0})
        client = LoopbackHttp("127.0.0.1", server.sockets[0].getsockname()[1])
        try:
            with pytest.raises(LoopbackError, match=r"not an HTTP/1\.1 answer"):
                await client.request("GET", "/")
        finally:
            await _stop(server, client)

    asyncio.run(scenario())
