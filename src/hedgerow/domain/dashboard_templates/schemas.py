"""Dashboard template JSON, field for field as PostHog's API has it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hedgerow.domain.common import UTCDateTimeOut

TemplateScope = Literal["team", "global", "feature_flag"]
Tag = Annotated[str, StringConstraints(max_length=255)]


class DashboardTemplateWrite(BaseModel):
    """Body of POST, PUT and PATCH; every field optional (PATCH semantics decide what is sent)."""

    model_config = ConfigDict(extra="ignore")

    template_name: Annotated[str, StringConstraints(max_length=400)] | None = None
    dashboard_description: Annotated[str, StringConstraints(max_length=400)] | None = None
    dashboard_filters: dict[str, Any] | None = None
    tags: list[Tag] | None = None
    tiles: list[Any] | None = None
    variables: list[Any] | None = None
    deleted: bool | None = None
    image_url: Annotated[str, StringConstraints(max_length=8201)] | None = None
    scope: TemplateScope | None = None
    availability_contexts: list[str] | None = None
    created_by: Any = None  # a user id; checked by the service as DRF checks a primary key


class DashboardTemplateOut(BaseModel):
    id: str
    template_name: str | None
    dashboard_description: str | None
    dashboard_filters: dict[str, Any] | None
    tags: list[str] | None
    tiles: list[Any] | None
    variables: list[Any] | None
    deleted: bool | None
    created_at: UTCDateTimeOut | None
    created_by: int | None
    image_url: str | None
    team_id: int | None
    scope: str | None
    availability_contexts: list[str] | None = Field(default=None)
