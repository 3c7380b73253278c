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
