"""live captions: table captions (the transcript's cues), spaces.captions, spaces.language

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 18:50:00

A new table and a column with a server default: nodes running 0008 code never read them, and
every Space they create has captions off, as the default says.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "captions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("space_id", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("text_folded", sa.String(length=2000), nullable=False, server_default=""),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_captions_space_start", "captions", ["space_id", "start_s", "id"])
    with op.batch_alter_table("spaces") as batch:
        batch.add_column(
            sa.Column("captions", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("language", sa.String(length=35), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("spaces") as batch:
        batch.drop_column("language")
        batch.drop_column("captions")
    op.drop_index("ix_captions_space_start", table_name="captions")
    op.drop_table("captions")
