"""doors open before the show: spaces.doors_open_minutes and the teasers table

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:20:00

Additive only: existing Spaces get ``doors_open_minutes = 0`` (no pre-show), so a node running
0001 code against a 0002 database keeps working during a rolling upgrade.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import majlis.store.tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("spaces", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("doors_open_minutes", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "teasers",
        sa.Column("space_id", sa.String(length=16), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("audio", sa.LargeBinary(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", majlis.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["space_id"], ["spaces.id"], name=op.f("fk_teasers_space_id_spaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("space_id", name=op.f("pk_teasers")),
    )


def downgrade() -> None:
    op.drop_table("teasers")
    with op.batch_alter_table("spaces", schema=None) as batch_op:
        batch_op.drop_column("doors_open_minutes")
