"""The in-process node registry: complete for one node (it registers itself, alone)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from majlis.seams.clock import Clock
from majlis.seams.nodes.protocol import NodeInfo, NodeLoad


@dataclass
class _Lease:
    url: str
    load: NodeLoad
    seen: float
    expires: float


class MemoryNodeRegistry:
    def __init__(self, lease_s: float, clock: Clock = time.monotonic) -> None:
        self.lease_s = lease_s
        self._clock = clock
        self._nodes: dict[str, _Lease] = {}

    async def register(self, node_id: str, url: str, load: NodeLoad) -> None:
        now = self._clock()
        self._nodes[node_id] = _Lease(url, load, now, now + self.lease_s)

    async def deregister(self, node_id: str) -> None:
        self._nodes.pop(node_id, None)

    async def live_nodes(self) -> list[NodeInfo]:
        now = self._clock()
        for node_id in [k for k, lease in self._nodes.items() if lease.expires <= now]:
            del self._nodes[node_id]
        return [
            NodeInfo(node_id, lease.url, lease.load, now - lease.seen)
            for node_id, lease in sorted(self._nodes.items())
        ]

    async def node(self, node_id: str) -> NodeInfo | None:
        return next((n for n in await self.live_nodes() if n.node_id == node_id), None)
