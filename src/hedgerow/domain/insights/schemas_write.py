"""Bodies the insights API accepts."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

Text400 = Annotated[str, StringConstraints(max_length=400)]


class InsightWrite(BaseModel):
    """POST, PUT and PATCH; read-only fields (short_id, result, ...) are ignored like DRF does."""

    model_config = ConfigDict(extra="ignore")

    name: Text400 | None = None
    derived_name: Text400 | None = None
    description: Text400 | None = None
    query: Any = None
    filters: dict[str, Any] | None = None
    order: int | None = None
    deleted: bool | None = None
    saved: bool | None = None
    favorited: bool | None = None
    tags: list[str] | None = None
    dashboards: list[int] | None = None


class InsightsViewed(BaseModel):
    """`POST insights/viewed`: the insights the requester just looked at."""

    model_config = ConfigDict(extra="ignore")

    insight_ids: list[int]
