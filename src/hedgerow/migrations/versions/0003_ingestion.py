"""ingestion outbox and person replica tombstones

Revision ID: 0003_ingestion
Revises: 0002_persons_jobs
Create Date: 2026-11-26 13:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hedgerow.db.types

revision = "0003_ingestion"
down_revision = "0002_persons_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingestion_outbox",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", hedgerow.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingestion_outbox")),
    )
    op.create_table(
        "person_replica_tombstones",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_person_replica_tombstones_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("project_id", "kind", "key", name=op.f("pk_person_replica_tombstones")),
    )


def downgrade() -> None:
    op.drop_table("person_replica_tombstones")
    op.drop_table("ingestion_outbox")
