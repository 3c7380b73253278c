"""A lean HTTP/1.1 client for the feeder's requests to its own nginx (``fanout.py``).

Why not httpx: the feeder publishes every chunk of every rendition it follows (8 a second per
rendition at 0.256 s chunks), and httpx spends ~1 ms of CPU on each request, which made the
feeder cost the edge 0.016-0.019 cores per Space, as much as 350 listeners. This client writes
one request and reads one answer on a kept-alive connection, and nothing else: no redirects, no
cookies, no pooling (each feeding task owns one), no TLS (the edge is on loopback).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

#: Longest answer head or body the publisher location sends (a few lines of channel info).
MAX_ANSWER = 64 * 1024


class LoopbackError(OSError):
    """The edge could not be reached, or answered something that is not HTTP/1.1."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes


class LoopbackHttp:
    """One kept-alive connection to ``host:port``; requests are sent one at a time."""

    def __init__(self, host: str, port: int, timeout_s: float = 5.0) -> None:
        self._host, self._port, self._timeout_s = host, port, timeout_s
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._lock = asyncio.Lock()

    async def request(
        self, method: str, path: str, body: bytes = b"", accept: str = "text/json"
    ) -> Answer:
        """Send one request; a connection the server closed since the last one is replaced
        once (nginx closes idle keep-alive connections)."""
        async with self._lock:
            for attempt in (0, 1):
                reused = self._streams is not None
                try:
                    async with asyncio.timeout(self._timeout_s):
                        return await self._exchange(method, path, body, accept)
                except (ConnectionError, asyncio.IncompleteReadError, TimeoutError) as exc:
                    self.close()
                    if attempt or not reused or isinstance(exc, TimeoutError):
                        raise LoopbackError(f"{method} {path}: {exc!r}") from exc
            raise AssertionError("unreachable")

    async def _exchange(self, method: str, path: str, body: bytes, accept: str) -> Answer:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self._host, self._port)
        reader, writer = self._streams
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self._host}\r\nAccept: {accept}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        writer.write(head.encode("ascii") + body)
        await writer.drain()
        status, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
        if headers.get("transfer-encoding", "").lower() == "chunked":
            answer = await _read_chunked(reader)
        else:
            length = int(headers.get("content-length", "0"))
            if not 0 <= length <= MAX_ANSWER:
                raise LoopbackError(f"an answer of {length} bytes from the edge")
            answer = await reader.readexactly(length)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Answer(status, answer)

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise LoopbackError(f"not an HTTP/1.1 answer: {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return bytes(body)
        if len(body) + size > MAX_ANSWER:
            raise LoopbackError("an answer too long from the edge")
        body += (await reader.readexactly(size + 2))[:-2]
