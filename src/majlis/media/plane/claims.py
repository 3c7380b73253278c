"""Whether this node runs a Space: the question every room opening starts with.

Why a shared object and not a call to ``Ownership``: the lifecycle follower, the doors timers
and the placement keeper ask it, and a Space that no node could take (``NoMediaNode``) must be
remembered by whichever asked, so that the keeper retries it every heartbeat.
"""

from __future__ import annotations

import logging
import time

from majlis.cluster.ownership import Ownership
from majlis.seams.nodes.protocol import NoMediaNode

log = logging.getLogger(__name__)
#: How long a catch-up leaves a live Space it finds unplaced to the node that may be running it:
#: after Redis came back empty, that node claims its rooms back within a heartbeat or two
#: (``PlacementKeeper``); placed elsewhere first, the room would move for nothing.
UNPLACED_GRACE_S = 1.0


class Claims:
    """This node's answer to "do I run this Space?", and the Spaces nobody could take yet."""

    def __init__(self, ownership: Ownership | None, clustered: bool = False) -> None:
        #: Where Spaces run; None: this node runs every Space (no cluster at all).
        self.ownership = ownership
        #: Other nodes may exist (Redis): being the only registered node proves nothing, as
        #: the one running a Space may not have beaten since Redis came back empty.
        self.clustered = clustered
        #: Spaces that should run but no node could take (NoMediaNode): retried every check.
        self.unplaced: set[str] = set()
        #: When a catch-up first found each Space unplaced (see UNPLACED_GRACE_S).
        self._found_unplaced: dict[str, float] = {}

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

    async def may_claim(self, space_id: str) -> bool:
        """Whether a catch-up may place ``space_id`` now: placed already (``owns`` decides),
        or this node is alone (no cluster), or nobody claimed it back within
        UNPLACED_GRACE_S."""
        if self.ownership is None:
            return True
        if await self.ownership.placement.placement_of(space_id) is not None:
            self._found_unplaced.pop(space_id, None)
            return True
        if not self.clustered:
            return True  # alone: nobody else can be running it
        now = time.monotonic()
        for stale in [s for s, at in self._found_unplaced.items() if now - at > 60]:
            del self._found_unplaced[stale]  # Spaces that ended or were placed meanwhile
        found = self._found_unplaced.setdefault(space_id, now)
        if now - found < UNPLACED_GRACE_S:
            return False
        del self._found_unplaced[space_id]  # the grace is spent; a later outage starts anew
        return True

    async def release(self, space_id: str) -> None:
        """The Space no longer runs anywhere (it ended, or the store says it should not run)."""
        self._found_unplaced.pop(space_id, None)
        if self.ownership is not None:
            await self.ownership.placement.release(space_id)
