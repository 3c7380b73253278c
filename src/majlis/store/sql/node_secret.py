"""The one secret every node on a database signs with (``security/shared_secret.py`` says why)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from majlis.store import tables as t
from majlis.store.sql.engine import SqlEngine

_ROW = "node"


class NodeSecretQueries(SqlEngine):
    async def claim_node_secret(
        self, verifier: str, value: str | None, now: datetime
    ) -> tuple[str, str | None]:
        """Record ``(verifier, value)`` unless a node did first; what is recorded either way.
        Two nodes starting at once: one insert wins, the other reads the winner's row."""
        query = select(t.node_secret.c.verifier, t.node_secret.c.value).where(
            t.node_secret.c.name == _ROW
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            try:
                async with self._write() as conn:
                    await conn.execute(
                        insert(t.node_secret).values(
                            name=_ROW, value=value, verifier=verifier, created_at=now
                        )
                    )
                return verifier, value
            except IntegrityError:
                async with self._read() as conn:
                    row = (await conn.execute(query)).first()
        assert row is not None
        return str(row.verifier), row.value
