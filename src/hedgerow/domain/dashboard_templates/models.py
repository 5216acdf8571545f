"""Dashboard templates: this project's own, and global ones shipped with Hedgerow."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from hedgerow.db.base import Base
from hedgerow.db.types import UTCDateTime, utcnow


class DashboardTemplate(Base):
    __tablename__ = "dashboard_templates"
    __table_args__ = (
        Index(
            "uq_dashboard_templates_live_name_per_project",
            "project_id",
            "template_name",
            unique=True,
            sqlite_where=text("deleted = 0 AND project_id IS NOT NULL"),
            postgresql_where=text("deleted = false AND project_id IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), nullable=True, index=True)
    template_name: Mapped[str | None] = mapped_column(String(400), nullable=True)
    dashboard_description: Mapped[str | None] = mapped_column(String(400), nullable=True)
    dashboard_filters: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    tiles: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    variables: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    tags: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    image_url: Mapped[str | None] = mapped_column(String(8201), nullable=True)
    scope: Mapped[str | None] = mapped_column(String(24), nullable=True)
    availability_contexts: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
