"""Waiting for the media plane's worker threads (encoders) from the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import threading


class ThreadEnd:
    """A worker thread's end, awaitable by a coroutine as promptly as ``thread.join``.

    Why not ``asyncio.to_thread(thread.join)``: that holds one of the loop's few default-executor
    threads for the whole wait (up to seconds per room while an encoder drains), and everything
    else the node runs through ``to_thread`` (teaser decoding, recordings, password hashing)
    queues behind it; ending several Spaces at once stalled a teaser swap for 20 s that way.
    The thread calls ``mark()`` as its very last act, after queueing its final deliveries with
    ``call_soon_threadsafe``: the waiter wakes after they have run, as it did after a join."""

    def __init__(self) -> None:
        self._ended = threading.Event()
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None

    def mark(self) -> None:
        """On the worker thread, last: the thread is done."""
        self._ended.set()
        waiter = self._waiter  # set before the waiter looks at _ended: one of us sees the other
        if waiter is not None:
            loop, future = waiter
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
                loop.call_soon_threadsafe(_resolve, future)

    async def wait(self, timeout_s: float) -> bool:
        """Whether the thread ended within ``timeout_s``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._waiter = (loop, future)
        if self._ended.is_set():
            return True
        try:
            async with asyncio.timeout(timeout_s):  # not wait_for: it can swallow a cancel on 3.11
                await future
        except TimeoutError:
            return False
        return True


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
