"""Whether this node runs a Space: the question every room opening starts with.

Why a shared object and not a call to ``Ownership``: the lifecycle follower, the doors timers
and the placement keeper ask it, and a Space that no node could take (``NoMediaNode``) must be
remembered by whichever asked, so that the keeper retries it every heartbeat.
"""

from __future__ import annotations

import logging

from majlis.cluster.ownership import Ownership
from majlis.seams.nodes.protocol import NoMediaNode

log = logging.getLogger(__name__)


class Claims:
    """This node's answer to "do I run this Space?", and the Spaces nobody could take yet."""

    def __init__(self, ownership: Ownership | None) -> None:
        #: Where Spaces run; None: this node runs every Space (no cluster at all).
        self.ownership = ownership
        #: Spaces that should run but no node could take (NoMediaNode): retried every check.
        self.unplaced: set[str] = set()

    async def owns(self, space_id: str) -> bool:
        """Whether this node runs ``space_id`` (placing it if nobody does yet)."""
        if self.ownership is None:
            return True
        try:
            owns = await self.ownership.owns(space_id)
        except NoMediaNode:
            log.warning("media: no media node can take Space %s yet; retrying", space_id)
            self.unplaced.add(space_id)
            return False
        self.unplaced.discard(space_id)
        return owns

    async def release(self, space_id: str) -> None:
        """The Space no longer runs anywhere (it ended, or the store says it should not run)."""
        if self.ownership is not None:
            await self.ownership.placement.release(space_id)
