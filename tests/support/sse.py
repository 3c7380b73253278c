"""Reading Server-Sent Events from a real server in a background thread."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from typing import Any

import httpx

from tests.support.client import TLS


class EventReader:
    """Collects ``(event, data)`` pairs from an SSE endpoint until closed."""

    def __init__(self, base_url: str, path: str, headers: dict[str, str] | None = None) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.status: int | None = None
        self._socket: socket.socket | None = None
        self._opened = threading.Event()
        self._client = httpx.Client(
            base_url=base_url, timeout=httpx.Timeout(5, read=30), verify=TLS
        )
        self._thread = threading.Thread(target=self._run, args=(path, headers or {}), daemon=True)
        self._thread.start()
        assert self._opened.wait(10), "the event stream did not open"

    def _run(self, path: str, headers: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", path, headers=headers) as response:
                self.status = response.status_code
                self._socket = response.extensions["network_stream"].get_extra_info("socket")
                self._opened.set()
                name = "message"
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        self.events.put((name, json.loads(line[6:])))
                        name = "message"
                self.events.put(("<closed>", None))
        except (httpx.HTTPError, RuntimeError):
            self.events.put(("<closed>", None))
        finally:
            self._opened.set()

    def wait_for(self, name: str, timeout: float = 5.0, **match: Any) -> Any:
        """The first event called ``name`` whose data contains ``match``; others are skipped."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                got, data = self.events.get(timeout=left)
            except queue.Empty:
                break
            if got == name and all(data.get(k) == v for k, v in match.items()):
                return data
            if got == "<closed>" and name != "<closed>":
                raise AssertionError(f"stream closed before {name} {match}")
        raise AssertionError(f"no {name} event with {match} within {timeout} s")

    def close(self) -> None:
        """Stop reading, at once. Closing the client alone does not wake a thread blocked
        reading the stream (it stayed blocked until the join gave up, 5 s per reader); shutting
        the socket down does."""
        if self._socket is not None:
            with contextlib.suppress(OSError):  # the server may have closed it already
                self._socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        self._client.close()
        assert not self._thread.is_alive(), "the event stream's reader did not stop"
