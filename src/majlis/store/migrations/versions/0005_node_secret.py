"""one secret for every node on a database: node_secret

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 10:40:00

A new table only: nodes running 0004 code never read it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import majlis.store.tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "node_secret",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=True),
        sa.Column("verifier", sa.String(length=64), nullable=False),
        sa.Column("created_at", majlis.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("node_secret")
