"""Persons and their distinct ids: the metadata store is their source of truth.

Every change bumps `version` and is replicated to the analytics store as a new version row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hedgerow.db.base import Base
from hedgerow.db.types import UTCDateTime, utcnow


class Person(Base):
    __tablename__ = "persons"
    __table_args__ = (UniqueConstraint("project_id", "uuid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_identified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    # The hour of the latest event seen (PostHog rounds it down to the hour); metadata only.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PersonDistinctId(Base):
    __tablename__ = "person_distinct_ids"
    __table_args__ = (
        UniqueConstraint("project_id", "distinct_id"),
        Index("ix_person_distinct_ids_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    distinct_id: Mapped[str] = mapped_column(String(400))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class PersonReplicaTombstone(Base):
    """The last version a deleted person or distinct id reached in the analytics replica.

    Person UUIDs are deterministic, so a deleted person can come back with the same UUID; its
    new versions must start above the deletion or readers of the replica would keep it deleted.
    """

    __tablename__ = "person_replica_tombstones"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # "person" or "distinct_id"
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class PersonGeneration(Base):
    """One row: `value` goes up with every statement (PostgreSQL) or row (SQLite) that changes
    `persons` or `person_distinct_ids`, by database trigger, whoever writes. `instance` is
    random per database. A process that knows the generation its cached persons were read at
    can trust them while it has not moved (`persons/identities.py`)."""

    __tablename__ = "person_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance: Mapped[str] = mapped_column(String(36))
    value: Mapped[int] = mapped_column(BigInteger)
