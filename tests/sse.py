"""Reading Server-Sent Events from a real server in a background thread."""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any

import httpx


class EventReader:
    """Collects ``(event, data)`` pairs from an SSE endpoint until closed."""

    def __init__(self, base_url: str, path: str, headers: dict[str, str] | None = None) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.status: int | None = None
        self._opened = threading.Event()
        self._client = httpx.Client(base_url=base_url, timeout=httpx.Timeout(5, read=30))
        self._thread = threading.Thread(target=self._run, args=(path, headers or {}), daemon=True)
        self._thread.start()
        assert self._opened.wait(10), "the event stream did not open"

    def _run(self, path: str, headers: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", path, headers=headers) as response:
                self.status = response.status_code
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
        self._client.close()
        self._thread.join(5)
