"""How a test reads a listener count that Redis estimated.

Distributed presence is a HyperLogLog (live/redis_backend.py): O(1) memory per Space whatever the
audience, at the price of being an estimate. For a small audience the estimate is exact unless two
listener ids land in one of its 16,384 registers, and then it is one short: measured here, 11 of
3,000 fresh sets of 12 ids counted 11 (0.37 %; about n²/32,768 for n listeners). A test that
waits for an exact count therefore fails one run in a few hundred for no fault of ours; this is
the tolerance such a test allows instead.
"""

from __future__ import annotations

import threading
import time

import httpx


def counted(count: int | None, listeners: int) -> bool:
    """True when ``count`` is what a HyperLogLog reports for ``listeners`` distinct listeners."""
    if count is None:
        return False
    return abs(count - listeners) <= max(1, round(listeners * 0.02))


class Listeners:
    """Joined listeners beating every ``interval_s``, staggered, in one thread, as listen.js
    does: on a 503 each waits the ``Retry-After`` it was given."""

    def __init__(self, base_url: str, urls: list[str], interval_s: float) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=10)
        self._urls = urls
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.refused = 0

    def __enter__(self) -> Listeners:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)
        self._http.close()

    def _run(self) -> None:
        start = time.monotonic()
        due = [start + self._interval_s * i / len(self._urls) for i in range(len(self._urls))]
        while not self._stop.is_set():
            i = min(range(len(due)), key=due.__getitem__)
            if self._stop.wait(max(0.0, due[i] - time.monotonic())):
                return
            try:
                response = self._http.post(self._urls[i])
            except httpx.TransportError:
                due[i] = time.monotonic() + 1.0
                continue
            if response.status_code == 204:
                due[i] += self._interval_s
            else:  # 503 while Redis is gone: back after Retry-After, as listen.js does
                self.refused += 1
                due[i] = time.monotonic() + float(response.headers.get("Retry-After", "1"))
