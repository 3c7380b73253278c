"""comments in a Space: table comments, spaces.pinned_comment_id

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 13:10:00

A new table and a nullable column: nodes running 0006 code never read them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import majlis.store.tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "comments",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("space_id", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", majlis.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_comments_space_created", "comments", ["space_id", "created_at", "id"])
    with op.batch_alter_table("spaces") as batch:
        batch.add_column(sa.Column("pinned_comment_id", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("spaces") as batch:
        batch.drop_column("pinned_comment_id")
    op.drop_index("ix_comments_space_created", table_name="comments")
    op.drop_table("comments")
