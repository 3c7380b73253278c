"""clips of a Space: table clips, spaces.clips_allowed

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 15:40:00

A new table and a column with a server default: nodes running 0007 code never read them, and
every Space they create allows clips, as the default says.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import majlis.store.tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clips",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("space_id", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("created_at", majlis.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_clips_space_created", "clips", ["space_id", "created_at", "id"])
    with op.batch_alter_table("spaces") as batch:
        batch.add_column(
            sa.Column("clips_allowed", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("spaces") as batch:
        batch.drop_column("clips_allowed")
    op.drop_index("ix_clips_space_created", table_name="clips")
    op.drop_table("clips")
