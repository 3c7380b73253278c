"""Virtual time for an asyncio event loop: code that sleeps on the loop's clock runs at once.

``loop.time()`` answers the virtual clock, and when the loop would wait for its next timer the
clock jumps to that timer instead of the selector sleeping, so a 20 ms ticker runs a minute of
ticks in milliseconds, exactly on schedule. A test makes time "pass" inside a callback by
moving ``clock.now`` on (a tick that took 100 ms of CPU). The shape is aiotools'
``VirtualClock``; only the selector event loop (asyncio's default) is supported.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class VirtualClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    @contextmanager
    def driving(self, loop: asyncio.AbstractEventLoop) -> Iterator[None]:
        selector: Any = getattr(loop, "_selector", None)
        if selector is None:
            raise TypeError(f"virtual time needs a selector event loop, not {type(loop)}")
        real_select = selector.select

        def select(timeout: float | None = None) -> Any:
            if timeout is not None and timeout > 0:
                self.now += timeout  # the wait for the next timer, without waiting
            return real_select(0)

        loop.time = lambda: self.now  # type: ignore[method-assign]
        selector.select = select
        try:
            yield
        finally:
            selector.select = real_select
            del loop.time  # type: ignore[misc]
