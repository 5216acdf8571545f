"""ingestion applied: queued batches already applied, kept in the queue until copied

Revision ID: 0010_ingestion_applied
Revises: 0009_person_generation
Create Date: 2026-11-26 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_ingestion_applied"
down_revision = "0009_person_generation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingestion_applied",
        sa.Column("queue_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["ingestion_queue.id"],
            name=op.f("fk_ingestion_applied_queue_id_ingestion_queue"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("queue_id", name=op.f("pk_ingestion_applied")),
    )


def downgrade() -> None:
    op.drop_table("ingestion_applied")
