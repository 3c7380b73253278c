"""The task that keeps a media node's lease: measure load, register, renew its placements.

Why it never gives up: a heartbeat that fails (Redis unreachable) is logged and retried at the
next tick. Meanwhile the lease lapses on its own, which is exactly right: a node that cannot
reach the coordinator must stop being chosen, and comes back by itself once Redis answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from majlis.cluster.load import CpuMeter, LoopLagProbe
from majlis.seams.nodes.protocol import NodeLoad, NodeRegistry
from majlis.seams.placement.protocol import Placement

log = logging.getLogger(__name__)

#: ``() -> (live Spaces, connected speakers)`` on this node.
RoomCount = Callable[[], tuple[int, int]]
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
    ) -> None:
        self.node_id = node_id
        self.url = url
        self.registry = registry
        self.placement = placement
        self.interval_s = interval_s
        self.failures = 0
        self._rooms = rooms
        self._lag = LoopLagProbe()
        self._cpu = CpuMeter()
        self._task: asyncio.Task[None] | None = None
        self._warned_at = -_WARN_EVERY_S

    def load(self) -> NodeLoad:
        spaces, speakers = self._rooms()
        return NodeLoad(spaces, speakers, self._cpu.take(), self._lag.take())

    async def beat(self) -> None:
        """One heartbeat: report load and renew the lease and this node's placements."""
        await self.registry.register(self.node_id, self.url, self.load())
        await self.placement.renew(self.node_id)

    async def start(self) -> None:
        """Register once before returning (so the node is placeable when it reports ready),
        then keep beating in the background."""
        self._lag.start()
        await self._beat_logged()
        self._task = asyncio.create_task(self._run(), name="node-heartbeat")

    async def stop(self) -> None:
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
            await self._beat_logged()

    async def _beat_logged(self) -> None:
        try:
            await self.beat()
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
