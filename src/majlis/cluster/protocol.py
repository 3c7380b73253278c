"""The two cluster seams: who the media nodes are (NodeRegistry) and where a Space runs
(Placement).

Why leases: a media node that dies cannot say so. Every node renews a short lease (a few
seconds) from a heartbeat task; a node whose lease lapsed is gone for placement, and the Spaces
placed on it are orphans a failover can find. Placements carry their own, longer lease, renewed
by the owning node's heartbeat, so a dead node's Spaces stay discoverable for a while and then
vanish rather than linger forever.

Both seams have a complete in-process implementation (``memory.py``: the single-node product)
and a Redis one (``redis.py``) for many nodes; one contract suite drives both
(tests/contract/test_cluster_seams.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class NodeLoad:
    """What a media node reports with every heartbeat."""

    #: Live Spaces whose rooms run on this node.
    spaces: int = 0
    #: Speakers connected over WHIP across those rooms.
    speakers: int = 0
    #: CPU of the whole process since the previous heartbeat, as a fraction of one core.
    cpu: float = 0.0
    #: The worst event-loop lateness measured since the previous heartbeat, in milliseconds.
    loop_lag_ms: float = 0.0


@dataclass(frozen=True)
class NodeInfo:
    """A media node with a live lease, as a reader sees it now."""

    node_id: str
    #: Base URL other nodes (and the edge) use to reach this node, e.g. ``http://10.0.0.5:8000``.
    url: str
    load: NodeLoad
    #: Seconds since the node's last heartbeat, measured on the registry's own clock (for Redis,
    #: the server's), so clock skew between nodes does not enter it.
    heartbeat_age_s: float


class NoMediaNode(Exception):
    """No live, responsive media node can take a Space right now: retry shortly.

    The cluster knows nothing of HTTP: the API answers it as a 503 problem with Retry-After
    (api/problems.py)."""

    title, slug = "No media node available", "no-media-node"

    def __init__(self, detail: str, *, retry_after_s: int = 2) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after_s = retry_after_s


class NodeRegistry(Protocol):
    async def register(self, node_id: str, url: str, load: NodeLoad) -> None:
        """Take or renew ``node_id``'s lease (a heartbeat is a register), reporting its load."""

    async def deregister(self, node_id: str) -> None:
        """Give the lease up now (clean shutdown), rather than letting it lapse."""

    async def live_nodes(self) -> list[NodeInfo]:
        """Every node whose lease has not expired, slow ones included."""

    async def node(self, node_id: str) -> NodeInfo | None:
        """One node, or None when its lease expired (or it never registered)."""


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

    async def release(self, space_id: str) -> None:
        """Forget ``space_id``'s placement (the Space ended)."""

    async def renew(self, node_id: str) -> None:
        """Extend the placement leases of every Space on ``node_id`` (its heartbeat)."""

    async def spaces_on(self, node_id: str) -> list[str]:
        """Spaces currently placed on ``node_id``, sorted."""

    async def orphaned(self) -> dict[str, str]:
        """``{space_id: node_id}`` for placements whose node's lease has expired: what a
        failover must re-place."""
