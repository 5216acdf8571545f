"""Insights, who viewed them when, and the cached results of their queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hedgerow.db.base import Base
from hedgerow.db.types import UTCDateTime, utcnow


class Insight(Base):
    __tablename__ = "insights"
    __table_args__ = (UniqueConstraint("project_id", "short_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    short_id: Mapped[str] = mapped_column(String(12))
    name: Mapped[str | None] = mapped_column(String(400), nullable=True)
    derived_name: Mapped[str | None] = mapped_column(String(400), nullable=True)
    description: Mapped[str | None] = mapped_column(String(400), nullable=True)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    query: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    order: Mapped[int | None] = mapped_column(Integer, nullable=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    saved: Mapped[bool] = mapped_column(Boolean, default=False)
    favorited: Mapped[bool] = mapped_column(Boolean, default=False)
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    last_modified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_modified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InsightViewed(Base):
    """When a user last viewed an insight: one row per project, user and insight."""

    __tablename__ = "insight_views"
    __table_args__ = (UniqueConstraint("project_id", "user_id", "insight_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    insight_id: Mapped[int] = mapped_column(ForeignKey("insights.id"), index=True)
    last_viewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QueryResult(Base):
    """One computed result per effective query (insight query + dashboard/tile filters)."""

    __tablename__ = "insight_query_results"

    cache_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    result: Mapped[list[Any]] = mapped_column(JSON)
    has_more: Mapped[bool] = mapped_column(Boolean, default=False)
    last_refresh: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    date_to: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    interval: Mapped[str] = mapped_column(String(16), default="day")
