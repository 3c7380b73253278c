"""notifications read on any device: accounts.notifications_seen_at

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 15:40:00

Additive only (nullable: nothing seen yet), so a node running 0002 code against a 0003
database keeps working during a rolling upgrade.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import majlis.store.tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "notifications_seen_at",
                majlis.store.tables.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("notifications_seen_at")
