"""Where a Space runs, seen from one node: the question every media decision starts with.

Why here and not in the plane or the routers: three callers ask it (the media plane before it
opens a room, the WHIP routes before they answer an offer, the failover loop) and they must
agree. The answer is always a *live* node: a placement whose node's lease lapsed is moved off
it (``Placement.replace``, atomic, so every node that notices agrees where it went) before it
is returned, so nobody is ever redirected to, or waits for, a dead node.
"""

from __future__ import annotations

from majlis.seams.nodes.protocol import NodeRegistry, NoMediaNode
from majlis.seams.placement.protocol import Placement


class Ownership:
    def __init__(self, registry: NodeRegistry, placement: Placement, node_id: str) -> None:
        self.registry = registry
        self.placement = placement
        #: This node's id; an api node's id is never a placement (it holds no lease).
        self.node_id = node_id

    async def owner(self, space_id: str) -> str:
        """The live node that runs ``space_id``: where it is placed, or newly placed (the
        least-loaded node), or re-placed off a dead node. Raises NoMediaNode (503)."""
        owner = await self.placement.place(space_id)
        if owner != self.node_id and await self.registry.node(owner) is None:
            owner = await self.placement.replace(space_id, owner)
        return owner

    async def owns(self, space_id: str) -> bool:
        return await self.owner(space_id) == self.node_id

    async def elsewhere(self, space_id: str) -> str | None:
        """The base URL of the node that runs ``space_id``, or None when it is this one."""
        for _ in range(3):  # a node whose lease lapses between the two reads is re-placed
            owner = await self.owner(space_id)
            if owner == self.node_id:
                return None
            node = await self.registry.node(owner)
            if node is not None:
                return node.url.rstrip("/")
        raise NoMediaNode("media nodes are failing right now; try again shortly", retry_after_s=2)
