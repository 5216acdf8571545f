"""Join the migration branches of the first release into one head.

Revision ID: 0008_merge_branches
Revises: 0004_cohorts, 0005_dashboards, 0006_actions, 0007_ingestion_queue
"""

from __future__ import annotations

revision = "0008_merge_branches"
down_revision = ("0004_cohorts", "0005_dashboards", "0006_actions", "0007_ingestion_queue")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
