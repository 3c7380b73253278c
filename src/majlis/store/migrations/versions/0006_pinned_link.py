"""a Space's pinned link: spaces.link_url, spaces.link_title

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 12:50:00

Two nullable columns: nodes running 0005 code never read them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("spaces") as batch:
        batch.add_column(sa.Column("link_url", sa.String(length=2048), nullable=True))
        batch.add_column(sa.Column("link_title", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("spaces") as batch:
        batch.drop_column("link_title")
        batch.drop_column("link_url")
