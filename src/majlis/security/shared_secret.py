"""One secret for every node on a database, or a refusal to start that says why.

Why: nodes sign what another node must check with a shared secret (WHIP grants across a
redirect, listener ids, stream tickets). Nodes given different secrets fail at that moment, with
401s nobody can explain (issue 14, finding 8). So the database records the secret of the first
node to start (table ``node_secret``):

- a node given ``MAJLIS_SECRET`` checks it against the recorded verifier (a keyed hash; the
  secret itself is not kept) and refuses to start on a mismatch, naming the fix;
- a node given none uses the secret recorded in the database, which the first such node put
  there (its data directory's, or a new one): every node of a cluster started without one shares
  it, and a node whose data directory was lost (a container without a volume) keeps signing
  with the same secret. Anyone who can read the database can read it, as they can read
  everything it protects.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from majlis.config import Settings


class SecretRecord(Protocol):
    """Where the nodes of a database record their secret (the store implements it)."""

    async def claim_node_secret(
        self, verifier: str, value: str | None, now: datetime
    ) -> tuple[str, str | None]: ...


class SecretMismatch(RuntimeError):
    """This node's secret is not the one the other nodes on its database use."""


def verifier(secret: str) -> str:
    return hmac.new(secret.encode(), b"majlis node secret verifier", hashlib.sha256).hexdigest()


async def shared_secret(store: SecretRecord, settings: Settings, now: datetime) -> Settings:
    """``settings`` with the secret every node on this database uses, or SecretMismatch."""
    if settings.secret:
        recorded, value = await store.claim_node_secret(verifier(settings.secret), None, now)
        if not hmac.compare_digest(recorded, verifier(settings.secret)):
            raise SecretMismatch(
                "this node's MAJLIS_SECRET is not the one the other nodes on this database use; "
                "give every node the same MAJLIS_SECRET"
                + (" (they use one they generated: leave MAJLIS_SECRET unset)" if value else "")
            )
        return settings
    ours = settings.resolved_secret()  # the data directory's (made there if it had none)
    _, value = await store.claim_node_secret(verifier(ours), ours, now)
    if value is None:
        raise SecretMismatch(
            "the other nodes on this database were given a MAJLIS_SECRET: give this node the "
            "same MAJLIS_SECRET"
        )
    return replace(settings, secret=value)
