"""person generation: a counter every change to persons or distinct ids bumps (by trigger)

Revision ID: 0009_person_generation
Revises: 0008_merge_branches
Create Date: 2026-11-26 18:00:00
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0009_person_generation"
down_revision = "0008_merge_branches"
branch_labels = None
depends_on = None

_TABLES = ("persons", "person_distinct_ids")


def upgrade() -> None:
    op.create_table(
        "person_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance", sa.String(36), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_generation")),
    )
    op.execute(
        sa.text("INSERT INTO person_generation (id, instance, value) VALUES (1, :instance, 0)").bindparams(
            instance=str(uuid.uuid4())
        )
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION bump_person_generation() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN UPDATE person_generation SET value = value + 1; RETURN NULL; END $$"
        )
        for table in _TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE PROCEDURE bump_person_generation()"
            )
        return
    for table in _TABLES:
        for action in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_generation_{action.lower()} AFTER {action} ON {table} "
                "BEGIN UPDATE person_generation SET value = value + 1; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_generation ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bump_person_generation()")
    else:
        for table in _TABLES:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_generation_{action}")
    op.drop_table("person_generation")
