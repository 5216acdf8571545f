"""Cohort JSON, field for field and in the order PostHog's cohort API has it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hedgerow.domain.common import UTCDateTimeOut
from hedgerow.domain.projects.schemas import UserBasic
from hedgerow.query.filters import FilterError, has_criteria, normalised, parse_filters

CohortType = Literal["static", "person_property", "behavioral", "realtime", "analytical"]
QUERY_KINDS = ("ActorsQuery", "HogQLQuery")
WILL_BE_STATIC = "will_be_static"


class QueryError(ValueError):
    attr = "query"


def _loose_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "1": True, "false": False, "0": False}.get(value.strip().lower())
    if isinstance(value, int):
        return bool(value)
    return None


class CohortWrite(BaseModel):
    """Body of POST, PUT and PATCH. Read-only fields a client echoes back are ignored, as PostHog does.

    Validate with ``context={"instance_is_static": bool}`` on updates: whether criteria-less
    filters are acceptable depends on the cohort being static after the write.
    Fields are declared in PostHog's serializer order, so the first error reported is the same.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    name: Annotated[str, StringConstraints(max_length=400)] | None = None
    description: Annotated[str, StringConstraints(max_length=1000)] = ""
    groups: list[Any] | None = None
    deleted: bool = False
    filters: dict[str, Any] | None = None
    query: dict[str, Any] | None = None
    is_static: bool = False
    cohort_type: CohortType | None = None
    create_in_folder: str = Field(default="", alias="_create_in_folder")
    create_static_person_ids: list[str] = Field(default_factory=list, alias="_create_static_person_ids")

    @model_validator(mode="before")
    @classmethod
    def _note_static(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(info.context, dict) and isinstance(data, dict):
            sent = _loose_bool(data.get("is_static")) if "is_static" in data else None
            instance = bool(info.context.get("instance_is_static", False))
            info.context[WILL_BE_STATIC] = instance if sent is None else sent
        return data

    @field_validator("name", "description", mode="before")
    @classmethod
    def _numbers_as_text(cls, value: Any) -> Any:
        # DRF's CharField takes numbers as their text (booleans stay refused).
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("filters", mode="before")
    @classmethod
    def _valid_filters(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        will_be_static = isinstance(info.context, dict) and bool(info.context.get(WILL_BE_STATIC))
        if will_be_static and not has_criteria(value):
            return value
        try:
            return normalised(parse_filters(value))
        except FilterError as exc:
            raise exc from None

    @field_validator("query", mode="before")
    @classmethod
    def _valid_query(cls, value: Any) -> Any:
        if not value:
            return None
        if not isinstance(value, dict):
            raise QueryError("Query must be a dictionary.")
        kind = value.get("kind")
        if kind not in QUERY_KINDS:
            raise QueryError(f"Query must be an ActorsQuery or HogQLQuery. Got: {kind}")
        return value


class CohortOut(BaseModel):
    id: int
    name: str | None
    description: str
    groups: list[Any]
    deleted: bool
    filters: dict[str, Any]
    query: dict[str, Any] | None
    version: int | None
    pending_version: int | None
    is_calculating: bool
    created_by: UserBasic | None
    created_at: UTCDateTimeOut | None
    last_calculation: UTCDateTimeOut | None
    last_backfill_person_properties_at: UTCDateTimeOut | None
    errors_calculating: int
    last_error_message: str | None
    count: int | None
    is_static: bool
    cohort_type: CohortType | None
    experiment_set: list[int]


class CalculationHistoryOut(BaseModel):
    id: str
    filters: dict[str, Any]
    count: int | None
    started_at: UTCDateTimeOut
    finished_at: UTCDateTimeOut | None
    queries: list[dict[str, Any]] | None
    error: str | None
    duration_seconds: float | None
    is_completed: bool
    is_successful: bool
    total_query_ms: int | None
    total_memory_mb: int | None
    total_read_rows: int | None
    total_written_rows: int | None
    main_query: str | None


class CohortPersonOut(BaseModel):
    """A member as `GET cohorts/:id/persons/` shows it (PostHog's actors shape, distinct ids capped)."""

    id: str
    uuid: str
    type: Literal["person"] = "person"
    name: str
    distinct_ids: list[str]
    properties: dict[str, Any]
    created_at: UTCDateTimeOut
    last_seen_at: UTCDateTimeOut | None = None
    is_identified: bool | None
    matched_recordings: list[Any] = Field(default_factory=list)
    value_at_data_point: Any = None


class AddPersonsBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    person_ids: Any = None


class RemovePersonBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    person_id: Any = None
