"""Dashboards, their tiles, and the text cards a tile can hold."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy import (
    Text as TextColumn,
)
from sqlalchemy.orm import Mapped, mapped_column

from hedgerow.db.base import Base
from hedgerow.db.types import UTCDateTime, utcnow


class Dashboard(Base):
    __tablename__ = "dashboards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(400), nullable=True)
    description: Mapped[str] = mapped_column(TextColumn, default="")
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    last_accessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_refresh: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    variables: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    breakdown_colors: Mapped[Any] = mapped_column(JSON, nullable=True)
    data_color_theme_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    creation_mode: Mapped[str] = mapped_column(String(16), default="default")
    restriction_level: Mapped[int] = mapped_column(SmallInteger, default=21)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)


class Text(Base):
    __tablename__ = "dashboard_texts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    body: Mapped[str | None] = mapped_column(String(4000), nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    last_modified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_modified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class DashboardTile(Base):
    __tablename__ = "dashboard_tiles"
    __table_args__ = (
        CheckConstraint("(insight_id IS NULL) <> (text_id IS NULL)", name="exactly_one_of_insight_or_text"),
        UniqueConstraint("dashboard_id", "insight_id"),
        UniqueConstraint("dashboard_id", "text_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dashboard_id: Mapped[int] = mapped_column(ForeignKey("dashboards.id"), index=True)
    insight_id: Mapped[int | None] = mapped_column(ForeignKey("insights.id"), nullable=True, index=True)
    text_id: Mapped[int | None] = mapped_column(ForeignKey("dashboard_texts.id"), nullable=True)
    layouts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    color: Mapped[str | None] = mapped_column(String(400), nullable=True)
    filters_overrides: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)
    deleted: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
