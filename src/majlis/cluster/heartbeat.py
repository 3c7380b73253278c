"""The task that keeps a media node's lease: measure load, register, renew its placements.

Why it never gives up: a heartbeat that fails (Redis unreachable) is logged and retried at the
next tick. Meanwhile the lease lapses on its own, which is exactly right: a node that cannot
reach the coordinator must stop being chosen, and comes back by itself once Redis answers.

Why the beats run on a thread of their own in a cluster (``own_seams``): failover is as fast
as a dead node's lease is short (issue 14 asks 2 s from SIGKILL to new audio), and a lease
renewed by the event loop must be long enough to outlive the loop's stalls, or a busy node
loses its Spaces to a neighbour for a hiccup. On its own thread, with its own Redis client,
the lease says "this process is alive" and can be short (``node_lease_s``, 1 s). A loop that is
wedged rather than busy must still give its Spaces up: the loop stamps a pulse every beat,
and the thread stops renewing once the pulse is older than ``stall_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable

from majlis.cluster.load import CpuMeter, LoopLagProbe
from majlis.seams.nodes.protocol import NodeLoad, NodeRegistry
from majlis.seams.placement.protocol import Placement

log = logging.getLogger(__name__)

#: ``() -> (live Spaces, connected speakers)`` on this node.
RoomCount = Callable[[], tuple[int, int]]
#: Seams of the beating thread's own (its own Redis client), and how to close them.
LeaseSeams = tuple[NodeRegistry, Placement, Callable[[], Awaitable[None]]]
#: Builds them on the beating thread's event loop.
LeaseSeamsFactory = Callable[[], Awaitable[LeaseSeams]]
#: Seconds between two "heartbeat failing" warnings, so an outage does not flood the log.
_WARN_EVERY_S = 30.0


class NodeHeartbeat:
    def __init__(
        self,
        node_id: str,
        url: str,
        registry: NodeRegistry,
        placement: Placement,
        rooms: RoomCount,
        interval_s: float,
        own_seams: LeaseSeamsFactory | None = None,
        stall_s: float = 5.0,
    ) -> None:
        self.node_id = node_id
        self.url = url
        self.registry = registry
        self.placement = placement
        self.interval_s = interval_s
        self.stall_s = stall_s
        self.failures = 0
        self._rooms = rooms
        self._own_seams = own_seams
        self._lag = LoopLagProbe()
        self._cpu = CpuMeter()
        self._task: asyncio.Task[None] | None = None
        self._warned_at = -_WARN_EVERY_S
        #: (monotonic time, rooms) as the event loop last saw them: the thread reads only this.
        self._pulse: tuple[float, tuple[int, int]] = (time.monotonic(), (0, 0))
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def load(self) -> NodeLoad:
        return self._load(self._rooms())

    def _load(self, rooms: tuple[int, int], pulse_age_s: float = 0.0) -> NodeLoad:
        """``pulse_age_s``: how long ago the loop last stamped its pulse. A loop blocked now
        has not woken its lag probe either, so the probe alone would say 0: the pulse's age
        says how late the loop is, and such a node is reported slow (placed nothing)."""
        spaces, speakers = rooms
        late_ms = max(0.0, pulse_age_s - self.interval_s) * 1000
        return NodeLoad(spaces, speakers, self._cpu.take(), max(self._lag.take(), late_ms))

    async def beat(self) -> None:
        """One heartbeat: report load and renew the lease and this node's placements."""
        await self._beat_with(self.registry, self.placement, self.load())

    async def _beat_with(
        self, registry: NodeRegistry, placement: Placement, load: NodeLoad
    ) -> None:
        await registry.register(self.node_id, self.url, load)
        await placement.renew(self.node_id)

    async def start(self) -> None:
        """Register once before returning (so the node is placeable when it reports ready),
        then keep beating in the background: on a thread of its own when given ``own_seams``."""
        self._lag.start()
        await self._beat_logged(self.beat())
        if self._own_seams is None:
            self._task = asyncio.create_task(self._run(), name="node-heartbeat")
            return
        self._pulse = (time.monotonic(), self._rooms())
        self._task = asyncio.create_task(self._keep_pulsing(), name="node-heartbeat-pulse")
        self._thread = threading.Thread(
            target=asyncio.run,
            args=(self._beat_off_loop(self._own_seams),),
            name=f"heartbeat-{self.node_id}",
            daemon=True,
        )
        self._thread.start()

    async def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            # At most a beat in flight; a Redis that does not answer must not hold the stop.
            await asyncio.to_thread(self._thread.join, 10.0)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._lag.stop()
        with contextlib.suppress(Exception):
            await self.registry.deregister(self.node_id)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self._beat_logged(self.beat())

    async def _keep_pulsing(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                self._pulse = (time.monotonic(), self._rooms())
            except Exception:  # a count that failed once must not end the pulse (and lease)
                log.exception("node %s: counting rooms failed", self.node_id)
                self._pulse = (time.monotonic(), self._pulse[1])

    async def _beat_off_loop(self, own_seams: LeaseSeamsFactory) -> None:
        try:
            registry, placement, close = await own_seams()
        except Exception:
            log.exception(
                "node %s: the heartbeat could not start; its lease will lapse", self.node_id
            )
            raise
        stalled = False
        try:
            while not self._stopping.is_set():
                pulsed_at, rooms = self._pulse
                age_s = time.monotonic() - pulsed_at
                if age_s <= self.stall_s:
                    stalled = False
                    load = self._load(rooms, age_s)
                    await self._beat_logged(self._beat_with(registry, placement, load))
                elif not stalled:
                    stalled = True
                    log.warning(
                        "node %s: event loop stalled for %.1f s; its lease will lapse",
                        self.node_id,
                        age_s,
                    )
                await asyncio.sleep(self.interval_s)
        finally:
            with contextlib.suppress(Exception):
                await close()

    async def _beat_logged(self, beat: Awaitable[None]) -> None:
        try:
            await beat
        except Exception as exc:
            self.failures += 1
            now = time.monotonic()
            if now - self._warned_at >= _WARN_EVERY_S:
                self._warned_at = now
                log.warning(
                    "node %s: heartbeat failed (%s); its lease will lapse", self.node_id, exc
                )
        else:
            if self.failures:
                log.info("node %s: heartbeat back after %d failures", self.node_id, self.failures)
            self.failures = 0
