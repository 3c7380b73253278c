"""Limits on a request's head, enforced where the bytes arrive: its size (431) and how long it
may take to arrive (408).

Why below the app: a probe of the node (issue 14) sent one request with a 100 MB header. uvicorn's
httptools protocol has no limit on a head, and the parser grows each header by concatenation: the
process grew by 142 MiB and the event loop stalled 5 s, long enough for every live room to skip
2.5 s of audio. Nothing in the ASGI app can help, because the app sees a request only once its
head is complete. Here the bytes of a head are counted as they are fed to the parser, so a head
larger than ``max_head_bytes`` costs at most that much (plus one socket read) before it is
answered 431 and the connection closed.

One address may hold ``max_connections_per_address`` connections at once: past that a new one is
answered 503 with Retry-After and closed before anything is parsed, so one client cannot use up
the node's sockets and memory with idle or slow connections. Edges (trusted proxies) are not
capped, since every listener behind one arrives from its address; nor is loopback (a proxy or
an operator on the node's own machine).

Time matters as much as size: a connection that opens and sends nothing, or a head a byte at a
time, holds a socket and a parser for as long as it likes. A head must be complete within
``head_timeout_s`` of the connection opening (or of the request's first byte, on a kept-alive
connection), or it is answered 408 and closed. Between requests uvicorn's own keep-alive timeout
closes idle connections; how long a body may take is the body guard's business
(api/middleware/guards.py), because only the app knows which routes take a body.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from majlis.api.responses import problem

#: nginx's default (large_client_header_buffers 4 8k) is 32 KiB; majlis' heads are < 2 KiB.
MAX_HEAD_BYTES = 32 * 1024
HEAD_TIMEOUT_S = 10.0


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the head limits of the module docstring."""

    max_head_bytes: ClassVar[int] = MAX_HEAD_BYTES
    head_timeout_s: ClassVar[float] = HEAD_TIMEOUT_S
    #: Connections one address may hold at once (0: no cap); trusted proxies (edges) and
    #: loopback are not capped, since every listener behind a proxy arrives from its address.
    max_connections_per_address: ClassVar[int] = 0
    trusted: ClassVar[tuple[IPv4Network | IPv6Network, ...]] = ()
    #: Open connections by address, for this server (``limited_http`` makes a class per server).
    open_by_address: ClassVar[Counter[str]] = Counter()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._address = ""  # counted in open_by_address while this connection is open
        self._head_bytes = 0
        #: Between a request's first byte (or the connection's opening) and its head's end.
        self._in_head = False
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else ""
        if self.max_connections_per_address and address and not self._is_trusted(address):
            if self.open_by_address[address] >= self.max_connections_per_address:
                self._refuse(
                    503,
                    "Too many connections",
                    f"this address holds {self.max_connections_per_address} connections "
                    "already; reuse one (keep-alive) or close one",
                    "too-many-connections",
                    retry_after_s=5,
                )
                return
            self.open_by_address[address] += 1
            self._address = address
        self._start_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        if self._address:
            self.open_by_address[self._address] -= 1
            if self.open_by_address[self._address] <= 0:
                del self.open_by_address[self._address]
            self._address = ""
        super().connection_lost(exc)

    def _is_trusted(self, address: str) -> bool:
        try:
            parsed = ip_address(address)
        except ValueError:
            return False
        return parsed.is_loopback or any(parsed in network for network in self.trusted)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._start_head()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._stop_head_timer()
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        in_head = self._in_head
        super().data_received(data)
        if in_head and self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self._refuse(
                    431,
                    "Request header fields too large",
                    f"the request line and headers must be at most {self.max_head_bytes} bytes",
                    "header-too-large",
                )

    def _start_head(self) -> None:
        self._in_head = True
        self._head_bytes = 0
        self._stop_head_timer()
        self._head_timer = asyncio.get_running_loop().call_later(
            self.head_timeout_s, self._head_too_slow
        )

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if not self._in_head or self.transport.is_closing():
            return
        if self._head_bytes == 0 and self.cycle is None:
            self.transport.close()  # nothing was asked: nobody to answer
            return
        self._refuse(
            408,
            "Request timeout",
            f"the request line and headers must arrive within {self.head_timeout_s:g} s",
            "request-timeout",
        )

    def _refuse(
        self, status: int, title: str, detail: str, slug: str, retry_after_s: int = 0
    ) -> None:
        """Answer with a problem and close: the rest of this connection's bytes are not read."""
        self._in_head = False
        self._stop_head_timer()
        response = problem(status, title, detail, slug)
        head = [f"HTTP/1.1 {status} {title}\r\n".encode("ascii")]
        for name, value in response.raw_headers:
            if name not in (b"content-length", b"connection"):
                head.append(name + b": " + value + b"\r\n")
        if retry_after_s:
            head.append(b"retry-after: " + str(retry_after_s).encode("ascii") + b"\r\n")
        head.append(b"content-length: " + str(len(response.body)).encode("ascii") + b"\r\n")
        head.append(b"connection: close\r\n\r\n")
        self.transport.write(b"".join(head) + bytes(response.body))
        self.transport.close()


def limited_http(
    max_head_bytes: int,
    head_timeout_s: float,
    max_connections_per_address: int = 0,
    trusted: tuple[IPv4Network | IPv6Network, ...] = (),
) -> type[LimitedHttpToolsProtocol]:
    """The protocol class for uvicorn's ``http`` setting, with these limits (a class of its own
    per server: the connection counts are the server's)."""
    return type(
        "LimitedHttpToolsProtocol",
        (LimitedHttpToolsProtocol,),
        {
            "max_head_bytes": max_head_bytes,
            "head_timeout_s": head_timeout_s,
            "max_connections_per_address": max_connections_per_address,
            "trusted": trusted,
            "open_by_address": Counter(),
        },
    )
