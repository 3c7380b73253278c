"""sessions a person can list and end: sessions.id and sessions.last_used_at

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 10:00:00

Additive (both nullable), so a node running 0003 code against a 0004 database keeps signing
people in during a rolling upgrade; the rows it writes get an id when first used by a newer node
(``session_for_token``). Existing sessions get a random id here and were last used when created.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

import majlis.store.tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("id", sa.String(length=24), nullable=True))
        batch_op.add_column(
            sa.Column("last_used_at", majlis.store.tables.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint("uq_sessions_id", ["id"])
    sessions = sa.table(
        "sessions",
        sa.column("token_hash", sa.String),
        sa.column("id", sa.String),
    )
    bind = op.get_bind()
    for (digest,) in bind.execute(sa.select(sessions.c.token_hash)).all():
        bind.execute(
            sessions.update()
            .where(sessions.c.token_hash == digest)
            .values(id=secrets.token_urlsafe(12))
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_sessions_id", type_="unique")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("id")
