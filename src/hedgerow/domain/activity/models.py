"""The append-only activity log every resource writes to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hedgerow.db.base import Base
from hedgerow.db.types import UTCDateTime, utcnow


class ActivityLog(Base):
    __tablename__ = "activity_log"
    __table_args__ = (Index("ix_activity_log_project_scope_item", "project_id", "scope", "item_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    organization_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)
    activity: Mapped[str] = mapped_column(String(79))
    scope: Mapped[str] = mapped_column(String(79))
    item_id: Mapped[str] = mapped_column(String(72))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
