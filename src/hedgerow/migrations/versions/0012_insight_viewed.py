"""insight views (who last viewed which insight), and projects.week_start_day

Revision ID: 0012_insight_viewed
Revises: 0011_person_last_seen_at
Create Date: 2026-11-28 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hedgerow.db.types

revision = "0012_insight_viewed"
down_revision = "0011_person_last_seen_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "insight_views",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("insight_id", sa.Integer(), nullable=False),
        sa.Column("last_viewed_at", hedgerow.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["insight_id"], ["insights.id"], name=op.f("fk_insight_views_insight_id_insights")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_insight_views_project_id_projects")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_insight_views_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_views")),
        sa.UniqueConstraint(
            "project_id", "user_id", "insight_id", name=op.f("uq_insight_views_project_id_user_id_insight_id")
        ),
    )
    op.create_index(op.f("ix_insight_views_project_id"), "insight_views", ["project_id"], unique=False)
    op.create_index(op.f("ix_insight_views_user_id"), "insight_views", ["user_id"], unique=False)
    op.create_index(op.f("ix_insight_views_insight_id"), "insight_views", ["insight_id"], unique=False)
    # A plain ADD COLUMN (nullable, no default): no table copy on SQLite.
    op.add_column("projects", sa.Column("week_start_day", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE projects DROP COLUMN week_start_day")
    op.drop_index(op.f("ix_insight_views_insight_id"), table_name="insight_views")
    op.drop_index(op.f("ix_insight_views_user_id"), table_name="insight_views")
    op.drop_index(op.f("ix_insight_views_project_id"), table_name="insight_views")
    op.drop_table("insight_views")
