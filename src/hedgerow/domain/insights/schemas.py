"""Insight JSON, field for field as PostHog's API has it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from hedgerow.domain.common import UTCDateTimeOut
from hedgerow.domain.projects.schemas import UserBasic


class DashboardTileRef(BaseModel):
    id: int
    dashboard_id: int
    deleted: bool | None


class InsightOut(BaseModel):
    # `color` and `layouts` join the body when an insight is read through one of its dashboards.
    model_config = ConfigDict(extra="allow")

    id: int
    short_id: str
    name: str | None
    derived_name: str | None
    filters: dict[str, Any]
    query: dict[str, Any] | None
    order: int | None
    deleted: bool
    dashboards: list[int]
    dashboard_tiles: list[DashboardTileRef]
    last_refresh: UTCDateTimeOut | None
    cache_target_age: UTCDateTimeOut | None
    next_allowed_client_refresh: UTCDateTimeOut | None
    result: list[Any] | None
    hasMore: bool | None
    columns: list[Any] | None
    created_at: UTCDateTimeOut
    created_by: UserBasic | None
    description: str | None
    updated_at: UTCDateTimeOut
    tags: list[str]
    favorited: bool
    saved: bool
    last_modified_at: UTCDateTimeOut
    last_modified_by: UserBasic | None
    is_sample: bool
    effective_restriction_level: int
    effective_privilege_level: int
    user_access_level: str | None
    timezone: str | None
    is_cached: bool
    query_status: dict[str, Any] | None
    hogql: str | None
    types: list[Any] | None
    filters_hash: str | None


class InsightBasicOut(BaseModel):
    id: int
    short_id: str
    name: str | None
    derived_name: str | None
    favorited: bool
    filters: dict[str, Any]
    query: dict[str, Any] | None
    dashboards: list[int]
    dashboard_tiles: list[DashboardTileRef]
    description: str | None
    last_refresh: UTCDateTimeOut | None
    refreshing: bool
    saved: bool
    updated_at: UTCDateTimeOut
    created_by: UserBasic | None
    created_at: UTCDateTimeOut
    last_modified_at: UTCDateTimeOut
    tags: list[str]
    user_access_level: str | None
