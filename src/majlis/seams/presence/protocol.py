"""Who is listening: approximate distinct listeners seen within about two heartbeat intervals.

Why windows instead of a row per listener: a listener is counted by adding its id to the set of
the current window; the count is the union of the current and the previous window. No per-listener
expiry bookkeeping, no writes on leave, and the Redis version is two HyperLogLogs per Space
(PFADD + PFCOUNT over two keys), 12 KB each whatever the audience size.

Signed-in listeners are also present as their account, with the same windows, so that a person
can be shown which of the people they follow are listening. That part answers a question about
accounts the asker names (``accounts``) rather than listing everyone present: a Space can have a
million signed-in listeners, a person follows a bounded few.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Presence(Protocol):
    async def touch(self, space_id: str, listener_id: str, account_id: int | None = None) -> None:
        """Count ``listener_id`` as present in ``space_id`` now (join or heartbeat); with
        ``account_id`` (a signed-in listener), that account is present too."""

    async def count(self, space_id: str) -> int:
        """Distinct listeners seen in the current or the previous window."""

    async def counts(self, space_ids: Iterable[str]) -> dict[str, int]:
        """``count`` for many Spaces in one round trip."""

    async def accounts(self, space_id: str, among: Iterable[int]) -> set[int]:
        """Those of ``among`` touched as their account in the current or the previous window
        (one round trip, whatever the audience size)."""

    async def forget(self, space_id: str) -> None:
        """Drop a Space's presence (it ended)."""
