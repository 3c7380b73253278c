"""Where a Space runs: the placement seam (see seams/nodes/protocol.py for the leases both
seams keep)."""

from __future__ import annotations

from typing import Protocol


class Placement(Protocol):
    async def place(self, space_id: str) -> str:
        """The node that runs ``space_id``: its current placement, or else the least-loaded
        eligible node, chosen atomically so concurrent callers on any API node agree.
        Raises NoMediaNode when no node is eligible."""

    async def placement_of(self, space_id: str) -> str | None:
        """The node ``space_id`` is placed on, or None (never placed, released, or lapsed)."""

    async def replace(self, space_id: str, dead_node: str) -> str:
        """Move ``space_id`` off ``dead_node`` onto another eligible node; if someone already
        moved it, return where it went (so concurrent failovers agree)."""

    async def keep(self, space_id: str, node_id: str) -> str:
        """Place ``space_id`` on ``node_id`` unless it is placed already; return where it is.
        For a node that runs the Space's room and finds its placement gone (Redis came back
        empty): the room stays where it is, rather than move to a cheaper node."""

    async def release(self, space_id: str) -> None:
        """Forget ``space_id``'s placement (the Space ended)."""

    async def renew(self, node_id: str) -> None:
        """Extend the placement leases of every Space on ``node_id`` (its heartbeat)."""

    async def spaces_on(self, node_id: str) -> list[str]:
        """Spaces currently placed on ``node_id``, sorted."""

    async def orphaned(self) -> dict[str, str]:
        """``{space_id: node_id}`` for placements whose node's lease has expired: what a
        failover must re-place."""
