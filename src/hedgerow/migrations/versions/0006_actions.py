"""actions

Revision ID: 0006_actions
Revises: 0002_persons_jobs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hedgerow.db.types

revision = "0006_actions"
down_revision = "0002_persons_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("post_to_slack", sa.Boolean(), nullable=False),
        sa.Column("slack_message_format", sa.String(length=1200), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("created_at", hedgerow.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", hedgerow.db.types.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("pinned_at", hedgerow.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_actions_created_by_id_users")),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_actions_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actions")),
    )
    op.create_index(op.f("ix_actions_project_id"), "actions", ["project_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_actions_project_id"), table_name="actions")
    op.drop_table("actions")
