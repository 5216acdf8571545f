"""person last_seen_at: the hour of the latest event seen for the person

Revision ID: 0011_person_last_seen_at
Revises: 0010_ingestion_applied
Create Date: 2026-11-27 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hedgerow.db.types

revision = "0011_person_last_seen_at"
down_revision = "0010_ingestion_applied"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: on SQLite a batch (copy-and-move) alteration would drop the table's
    # generation triggers.
    op.add_column("persons", sa.Column("last_seen_at", hedgerow.db.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE persons DROP COLUMN last_seen_at")
