"""Person JSON, field for field as PostHog's persons API has it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from hedgerow.domain.common import UTCDateTimeOut


class PersonOut(BaseModel):
    """An item of `GET /persons/` (PostHog's actors shape): `id` is the person UUID."""

    type: Literal["person"] = "person"
    id: str
    uuid: str
    name: str
    distinct_ids: list[str]
    properties: dict[str, Any]
    created_at: UTCDateTimeOut
    last_seen_at: UTCDateTimeOut | None = None
    is_identified: bool
    matched_recordings: list[Any] = Field(default_factory=list)
    value_at_data_point: Any = None


class PersonDetailOut(BaseModel):
    """`GET /persons/:id/` uses PostHog's older serializer: `id` is the integer primary key."""

    id: int
    name: str
    distinct_ids: list[str]
    properties: dict[str, Any]
    created_at: UTCDateTimeOut
    uuid: str
    last_seen_at: UTCDateTimeOut | None = None
    is_identified: bool


class PropertyUpdate(BaseModel):
    """Body of `POST /persons/:id/update_property/`."""

    key: str
    value: Any


class PersonPropertiesPatch(BaseModel):
    """Body of `PATCH`/`PUT /persons/:id/`."""

    properties: dict[str, Any]
