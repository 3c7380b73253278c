"""The in-process cluster seams: complete for one node (it places every Space on itself), and
the base the Redis versions build on.

``MemoryPlacement`` holds the whole placement algorithm and keeps its state behind a handful of
primitives (``_lookup``, ``_claim``, ``_all``, ...); the Redis version overrides only those,
each an atomic step in Redis, so both backends decide alike by construction.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection

from majlis.seams.clock import Clock
from majlis.seams.nodes.protocol import NodeRegistry
from majlis.seams.placement.policy import PlacementPolicy, candidates, cheapest, random_pick


class MemoryPlacement:
    def __init__(
        self,
        registry: NodeRegistry,
        lease_s: float,
        policy: PlacementPolicy | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.registry = registry
        self.lease_s = lease_s
        self.policy = policy or PlacementPolicy()
        self._clock = clock
        self._placements: dict[str, tuple[str, float]] = {}

    # --- the algorithm, shared by every backend --------------------------------------------

    async def place(self, space_id: str) -> str:
        current = await self._lookup(space_id)
        if current is not None:
            return current
        return await self._claim(space_id, await self._candidates(exclude=()))

    async def placement_of(self, space_id: str) -> str | None:
        return await self._lookup(space_id)

    async def replace(self, space_id: str, dead_node: str) -> str:
        current = await self._lookup(space_id)
        if current is not None and current != dead_node:
            return current  # another failover got there first
        return await self._claim(space_id, await self._candidates({dead_node}), dead_node)

    async def keep(self, space_id: str, node_id: str) -> str:
        return await self._claim(space_id, {node_id: 0.0})

    async def release(self, space_id: str) -> None:
        await self._drop(space_id)

    async def spaces_on(self, node_id: str) -> list[str]:
        return sorted(s for s, n in (await self._all()).items() if n == node_id)

    async def orphaned(self) -> dict[str, str]:
        live = {n.node_id for n in await self.registry.live_nodes()}
        return {s: n for s, n in sorted((await self._all()).items()) if n not in live}

    async def _candidates(self, exclude: Collection[str]) -> dict[str, float]:
        return candidates(await self.registry.live_nodes(), self.policy, exclude)

    # --- state primitives: the Redis version overrides exactly these -----------------------

    async def renew(self, node_id: str) -> None:
        now = self._clock()
        self._expire(now)
        for space_id, (node, _) in list(self._placements.items()):
            if node == node_id:
                self._placements[space_id] = (node, now + self.lease_s)

    async def _lookup(self, space_id: str) -> str | None:
        entry = self._placements.get(space_id)
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]

    async def _claim(self, space_id: str, base: dict[str, float], dead_node: str = "") -> str:
        """In one atomic step: unless ``space_id`` is placed (on a node other than
        ``dead_node``), place it on the cheapest of ``base`` counting every placement made so
        far. Returns where it is placed."""
        current = await self._lookup(space_id)
        if current is not None and current != dead_node:
            return current
        placed = Counter((await self._all()).values())
        node_id = cheapest(base, placed, random_pick())
        self._placements[space_id] = (node_id, self._clock() + self.lease_s)
        return node_id

    async def _drop(self, space_id: str) -> None:
        self._placements.pop(space_id, None)

    async def _all(self) -> dict[str, str]:
        self._expire(self._clock())
        return {space_id: node for space_id, (node, _) in self._placements.items()}

    def _expire(self, now: float) -> None:
        for space_id in [s for s, (_, until) in self._placements.items() if until <= now]:
            del self._placements[space_id]
