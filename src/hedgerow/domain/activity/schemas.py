"""Activity log entries as PostHog's activity endpoints return them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from hedgerow.domain.common import UTCDateTimeOut


class ActivityUser(BaseModel):
    first_name: str | None
    email: str | None
    is_system: bool | None = Field(default=None, exclude_if=lambda v: v is None)


class Change(BaseModel):
    type: str
    action: str
    field: str | None
    before: Any = None
    after: Any = None


class ActivityDetail(BaseModel):
    changes: list[Change] | None
    trigger: Any = None
    name: str | None = None
    short_id: str | None = None
    type: str | None = None


class ActivityEntry(BaseModel):
    id: str
    user: ActivityUser
    activity: str
    scope: str
    item_id: str
    detail: ActivityDetail
    created_at: UTCDateTimeOut


class ActivityPage(BaseModel):
    results: list[ActivityEntry]
    total_count: int
    page: int
    limit: int
