"""Where listeners' requests are served from, and waiting for a stream that is about to appear.

The part store answers for this node's streams and (with Redis) every other node's. A Space
that just went live has no stream for a moment (the lifecycle event, then placement, then the
room), and a player asking then should wait, not get a 404. The wait sleeps on events, never
on a clock: the plane wakes it when it attaches a room's streams here, and with a shared store
the owner node's first state message on ``hls:<key>`` (published once the state is stored)
wakes it for a room on another node.
"""

from __future__ import annotations

import asyncio
import contextlib

from majlis.media.hls.parts.protocol import HlsSource, PartStore, hls_topic
from majlis.media.plane.tasks import cancel_and_wait
from majlis.seams.bus.protocol import EventBus, Subscription


class Sources:
    def __init__(self, parts: PartStore, bus: EventBus, shared: bool) -> None:
        self.parts = parts
        self._bus = bus
        #: Whether other nodes' streams are served here too (Redis): then they are waited for.
        self._shared = shared
        #: One event per request waiting for a stream; each is set when any stream is attached.
        self._waiters: set[asyncio.Event] = set()

    async def source(self, key: str) -> HlsSource | None:
        return await self.parts.source(key)

    def attached(self) -> None:
        """A room's streams were attached here: wake every waiting request to look again."""
        for waiter in self._waiters:
            waiter.set()

    async def within(self, key: str, timeout_s: float) -> HlsSource | None:
        """``key``'s stream, waiting up to ``timeout_s`` for it to appear; None if it did not."""
        woken = asyncio.Event()
        self._waiters.add(woken)
        # Subscribed before the first look, so no arrival falls between the two.
        subscription = await self._bus.subscribe([hls_topic(key)]) if self._shared else None
        relay = asyncio.create_task(_wake_on_events(subscription, woken)) if subscription else None
        try:
            async with asyncio.timeout(timeout_s):
                while (source := await self.parts.source(key)) is None:
                    await woken.wait()
                    woken.clear()
                return source
        except TimeoutError:
            return None
        finally:
            self._waiters.discard(woken)
            await cancel_and_wait(relay)
            if subscription is not None:
                with contextlib.suppress(Exception):
                    await subscription.close()

    async def aclose(self) -> None:
        await self.parts.aclose()


async def _wake_on_events(subscription: Subscription, woken: asyncio.Event) -> None:
    async for _ in subscription:
        woken.set()
    woken.set()  # the bus dropped us: look once more; later only an attach here wakes the wait
