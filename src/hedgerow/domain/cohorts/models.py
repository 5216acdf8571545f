"""Cohort tables. Column names are PostHog's field names so the API and the worker speak one language.

- ``cohorts``: the definition and its calculation bookkeeping (``version``, ``pending_version``,
  ``count``, ``is_calculating``, ``last_calculation``, ``errors_calculating``, ``last_error_at``).
- ``cohort_calculation_history``: one row per calculation run or static import.
- ``cohort_people``: static membership (the metadata store is its source of truth).
- ``cohort_static_outbox``: membership changes still to be replicated to the analytics store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hedgerow.db.base import Base
from hedgerow.db.types import UTCDateTime, utcnow


class Cohort(Base):
    __tablename__ = "cohorts"
    __table_args__ = (Index("ix_cohorts_project_deleted", "project_id", "deleted"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str | None] = mapped_column(String(400), nullable=True)
    description: Mapped[str] = mapped_column(String(1000), default="")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    filters: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    query: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    groups: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Version of the last successful calculation; members in the analytics store are tagged with it.
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Version of the latest requested calculation; a job carrying an older one is superseded.
    pending_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    is_calculating: Mapped[bool] = mapped_column(Boolean, default=False)
    last_calculation: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    errors_calculating: Mapped[int] = mapped_column(Integer, default=0)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_backfill_person_properties_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    is_static: Mapped[bool] = mapped_column(Boolean, default=False)
    cohort_type: Mapped[str | None] = mapped_column(String(50), nullable=True)


class CohortCalculationHistory(Base):
    __tablename__ = "cohort_calculation_history"
    __table_args__ = (Index("ix_cohort_calculation_history_cohort_started", "cohort_id", "started_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    filters: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    queries: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Feeds `last_error_message`; not part of the API payload.
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)


class CohortPeople(Base):
    """Static cohort membership. Dynamic membership lives only in the analytics store."""

    __tablename__ = "cohort_people"
    __table_args__ = (UniqueConstraint("cohort_id", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CohortStaticOutbox(Base):
    """Static membership changes written with the membership, replicated to the analytics store later.

    Entries are applied in id order and deleted once the store has them, so a crash between the
    two stores only delays replication.
    """

    __tablename__ = "cohort_static_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))  # "add" | "remove"
    person_uuids: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
