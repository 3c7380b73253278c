"""A loopback HTTP/1.1 origin whose answers a test scripts, for edge behaviour the real origin
cannot be made to show on demand: a chunked body held after its first chunk until the test says
so, a body that breaks off, an error held until a crowd waits for it.

    origin = ScriptedOrigin()
    origin.script("/dash/s/aac/7.m4s", Held([b"a" * 100, b"b" * 100]))
    ...
    origin.requests("/dash/s/aac/7.m4s")  # how many times the edge asked

``/readyz`` answers 200 (an edge's health probe) and is not counted.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Answer = Callable[[BaseHTTPRequestHandler], None]


def _head(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.flush()


def _chunk(handler: BaseHTTPRequestHandler, data: bytes) -> None:
    handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
    handler.wfile.flush()


@dataclass
class Held:
    """200, chunked: the first chunk at once, the others once ``release`` is set (or never,
    with ``broken``: the connection is then cut without the closing chunk)."""

    chunks: list[bytes]
    cache_control: str = "public, max-age=60"
    broken: bool = False
    first_sent: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        _head(
            handler,
            200,
            {
                "Content-Type": "audio/mp4",
                "Cache-Control": self.cache_control,
                "Transfer-Encoding": "chunked",
            },
        )
        _chunk(handler, self.chunks[0])
        self.first_sent.set()
        self.release.wait(30)
        if self.broken:
            handler.close_connection = True
            handler.connection.shutdown(2)  # SHUT_RDWR: the edge sees the body end early
            return
        for chunk in self.chunks[1:]:
            _chunk(handler, chunk)
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()


@dataclass
class Status:
    """A short answer with ``status`` and ``headers``, once ``release`` is set."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"{}"
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.release.set()

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        self.release.wait(30)
        _head(handler, self.status, {**self.headers, "Content-Length": str(len(self.body))})
        handler.wfile.write(self.body)
        handler.wfile.flush()


class ScriptedOrigin:
    """A threading HTTP server on a free loopback port; ``close()`` stops it."""

    def __init__(self) -> None:
        self._answers: dict[str, Answer] = {}
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if self.path == "/readyz":
                    Status(200)(self)
                    return
                with origin._lock:
                    origin._seen[self.path] += 1
                    answer = origin._answers.get(self.path, Status(404))
                answer(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def script(self, path: str, answer: Answer) -> None:
        with self._lock:
            self._answers[path] = answer

    def requests(self, path: str) -> int:
        with self._lock:
            return self._seen[path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
