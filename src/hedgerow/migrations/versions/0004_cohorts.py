"""cohorts, calculation history, static membership and its replication outbox

Revision ID: 0004_cohorts
Revises: 0002_persons_jobs
Create Date: 2026-11-26 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hedgerow.db.types

revision = "0004_cohorts"
down_revision = "0002_persons_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cohorts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=True),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=True),
        sa.Column("query", sa.JSON(), nullable=True),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("pending_version", sa.Integer(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", hedgerow.db.types.UTCDateTime(), nullable=False),
        sa.Column("is_calculating", sa.Boolean(), nullable=False),
        sa.Column("last_calculation", hedgerow.db.types.UTCDateTime(), nullable=True),
        sa.Column("errors_calculating", sa.Integer(), nullable=False),
        sa.Column("last_error_at", hedgerow.db.types.UTCDateTime(), nullable=True),
        sa.Column("last_backfill_person_properties_at", hedgerow.db.types.UTCDateTime(), nullable=True),
        sa.Column("is_static", sa.Boolean(), nullable=False),
        sa.Column("cohort_type", sa.String(length=50), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_cohorts_created_by_id_users")),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_cohorts_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohorts")),
    )
    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.create_index("ix_cohorts_project_deleted", ["project_id", "deleted"], unique=False)

    op.create_table(
        "cohort_calculation_history",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("started_at", hedgerow.db.types.UTCDateTime(), nullable=False),
        sa.Column("finished_at", hedgerow.db.types.UTCDateTime(), nullable=True),
        sa.Column("queries", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["cohort_id"],
            ["cohorts.id"],
            name=op.f("fk_cohort_calculation_history_cohort_id_cohorts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_cohort_calculation_history_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohort_calculation_history")),
    )
    with op.batch_alter_table("cohort_calculation_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cohort_calculation_history_cohort_started", ["cohort_id", "started_at"], unique=False
        )

    op.create_table(
        "cohort_people",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", hedgerow.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohorts.id"], name=op.f("fk_cohort_people_cohort_id_cohorts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_cohort_people_person_id_persons"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohort_people")),
        sa.UniqueConstraint("cohort_id", "person_id", name=op.f("uq_cohort_people_cohort_id_person_id")),
    )
    with op.batch_alter_table("cohort_people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cohort_people_person_id"), ["person_id"], unique=False)

    op.create_table(
        "cohort_static_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("person_uuids", sa.JSON(), nullable=False),
        sa.Column("created_at", hedgerow.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"],
            ["cohorts.id"],
            name=op.f("fk_cohort_static_outbox_cohort_id_cohorts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_cohort_static_outbox_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohort_static_outbox")),
    )


def downgrade() -> None:
    op.drop_table("cohort_static_outbox")
    with op.batch_alter_table("cohort_people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cohort_people_person_id"))
    op.drop_table("cohort_people")
    with op.batch_alter_table("cohort_calculation_history", schema=None) as batch_op:
        batch_op.drop_index("ix_cohort_calculation_history_cohort_started")
    op.drop_table("cohort_calculation_history")
    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.drop_index("ix_cohorts_project_deleted")
    op.drop_table("cohorts")
