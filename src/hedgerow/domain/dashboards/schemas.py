"""Dashboard JSON, field for field as PostHog's API has it (basic list item, detail, tiles)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from hedgerow.domain.common import UTCDateTimeOut
from hedgerow.domain.insights.schemas import InsightOut
from hedgerow.domain.projects.schemas import UserBasic

RESTRICTION_EVERYONE_EDITS = 21
RESTRICTION_ONLY_COLLABORATORS = 37
PRIVILEGE_CAN_VIEW = 21
PRIVILEGE_CAN_EDIT = 37


class DashboardBasicOut(BaseModel):
    id: int
    name: str | None
    description: str
    pinned: bool
    created_at: UTCDateTimeOut
    created_by: UserBasic | None
    last_accessed_at: UTCDateTimeOut | None
    last_viewed_at: UTCDateTimeOut | None
    is_shared: bool
    deleted: bool
    creation_mode: str
    tags: list[str]
    restriction_level: int
    effective_restriction_level: int
    effective_privilege_level: int
    user_access_level: str | None
    access_control_version: str
    last_refresh: UTCDateTimeOut | None
    team_id: int


class TextOut(BaseModel):
    id: int
    body: str | None
    created_by: UserBasic | None
    last_modified_at: UTCDateTimeOut
    last_modified_by: UserBasic | None
    team: int


class TileOut(BaseModel):
    id: int
    insight: InsightOut | None
    text: TextOut | None
    layouts: dict[str, Any]
    color: str | None
    filters_overrides: dict[str, Any]
    order: int
    last_refresh: UTCDateTimeOut | None
    is_cached: bool


class DashboardOut(BaseModel):
    id: int
    name: str | None
    description: str
    pinned: bool
    created_at: UTCDateTimeOut
    created_by: UserBasic | None
    last_accessed_at: UTCDateTimeOut | None
    last_viewed_at: UTCDateTimeOut | None
    is_shared: bool
    deleted: bool
    creation_mode: str
    filters: dict[str, Any]
    variables: dict[str, Any]
    breakdown_colors: Any
    data_color_theme_id: int | None
    tags: list[str]
    restriction_level: int
    effective_restriction_level: int
    effective_privilege_level: int
    user_access_level: str | None
    access_control_version: str
    last_refresh: UTCDateTimeOut | None
    persisted_filters: dict[str, Any] | None
    persisted_variables: dict[str, Any] | None
    team_id: int
    tiles: list[TileOut]
