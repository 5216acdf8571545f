"""The cohort criteria tree: validation, normalisation, and the legacy `groups` conversion.

Pure: no I/O. Checks that need other cohorts (missing, deleted, other project, cycles) are done by
``domain/cohorts`` on the parsed tree. Every refusal is a ``FilterError`` whose ``attr`` is the API
field it belongs to (``filters``, or ``filters__detail`` for the shape error PostHog raises as a dict).

    filters = {"properties": GROUP}
    GROUP   = {"type": "AND" | "OR", "values": [GROUP | LEAF, ...]}
    LEAF    = person | behavioral | cohort   (selected by "type")
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "BEHAVIORAL_KINDS",
    "PROPERTY_OPERATORS",
    "BehavioralFilter",
    "CohortFilter",
    "CohortFilters",
    "FilterError",
    "FilterGroup",
    "Leaf",
    "PersonFilter",
    "criteria_tree",
    "groups_to_properties",
    "has_criteria",
    "iter_leaves",
    "normalise_legacy_groups",
    "normalised",
    "parse_filters",
    "parse_stored_filters",
    "referenced_cohort_ids",
]

PropertyOperator = Literal[
    "exact",
    "is_not",
    "icontains",
    "not_icontains",
    "regex",
    "not_regex",
    "gt",
    "gte",
    "lt",
    "lte",
    "is_set",
    "is_not_set",
    "is_date_exact",
    "is_date_before",
    "is_date_after",
    "between",
    "not_between",
    "min",
    "max",
    "in",
    "not_in",
    "is_cleaned_path_exact",
    "flag_evaluates_to",
]
PROPERTY_OPERATORS: frozenset[str] = frozenset(PropertyOperator.__args__)  # type: ignore[attr-defined]
VALUELESS_OPERATORS = frozenset({"is_set", "is_not_set"})

BehavioralKind = Literal[
    "performed_event",
    "performed_event_multiple",
    "performed_event_first_time",
    "performed_event_sequence",
    "performed_event_regularly",
    "stopped_performing_event",
    "restarted_performing_event",
]
BEHAVIORAL_KINDS: frozenset[str] = frozenset(BehavioralKind.__args__)  # type: ignore[attr-defined]
EventType = Literal["events", "actions"]
TimeInterval = Literal["minute", "hour", "day", "week", "month", "year"]
CountOperator = Literal["gte", "lte", "gt", "lt", "eq", "exact"]

SHAPE_MESSAGE = "Must contain a 'properties' key with type and values"


class FilterError(ValueError):
    """A criteria tree the API refuses; `detail` is PostHog's message."""

    def __init__(self, detail: str, *, attr: str = "filters"):
        super().__init__(detail)
        self.detail = detail
        self.attr = attr


class _MissingKeys(ValueError):
    """Raised inside leaf validation so the friendly message survives pydantic's wrapping."""


def _require(kind: str, data: Any, required: list[str]) -> None:
    if not isinstance(data, dict):
        return
    missing = [key for key in required if data.get(key) is None]
    if missing:
        raise _MissingKeys(f"Missing required keys for {kind} filter: {', '.join(missing)}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonFilter(_Strict):
    """`operator` is any string, as in PostHog's schema: an unknown one fails the calculation,
    not the request (`PROPERTY_OPERATORS` are the ones a calculation understands)."""

    key: str
    type: Literal["person"]
    value: Any = None
    operator: str
    negation: bool = False

    @model_validator(mode="before")
    @classmethod
    def _required_keys(cls, data: Any) -> Any:
        operator = data.get("operator") if isinstance(data, dict) else None
        needed = ["operator"] if operator in VALUELESS_OPERATORS else ["value", "operator"]
        _require("person", data, needed)
        return data


class EventFilter(BaseModel):
    """A property filter on the events a behavioral leaf counts (`event`, `element`, `hogql`, ...).

    Extra keys are kept rather than refused: the UI attaches labels to these and dropping a
    user's event filter would change what the cohort means.
    """

    model_config = ConfigDict(extra="allow")

    key: str
    type: str = "event"
    value: Any = None
    operator: str | None = None


class BehavioralFilter(_Strict):
    """`value` (the behaviour) is any string, as in PostHog's schema: one outside
    `BEHAVIORAL_KINDS` is saved and fails the calculation."""

    key: str | int
    type: Literal["behavioral"]
    value: str
    negation: bool = False
    event_type: EventType
    time_value: int | None = None
    time_interval: TimeInterval | None = None
    explicit_datetime: str | None = None
    explicit_datetime_to: str | None = None
    operator: CountOperator | None = None
    operator_value: int | None = None
    seq_event: str | int | None = None
    seq_event_type: EventType | None = None
    seq_time_value: int | None = None
    seq_time_interval: TimeInterval | None = None
    total_periods: int | None = None
    min_periods: int | None = None
    event_filters: list[EventFilter] | None = None

    @model_validator(mode="before")
    @classmethod
    def _required_keys(cls, data: Any) -> Any:
        _require("behavioral", data, ["key", "value", "event_type"])
        return data


class CohortFilter(_Strict):
    key: Literal["id"]
    type: Literal["cohort"]
    value: int
    negation: bool = False

    @model_validator(mode="before")
    @classmethod
    def _required_keys(cls, data: Any) -> Any:
        _require("cohort", data, ["key", "value"])
        return data


Leaf = PersonFilter | BehavioralFilter | CohortFilter


Node = Annotated["FilterGroup | PersonFilter | BehavioralFilter | CohortFilter", Field(discriminator="type")]


class FilterGroup(_Strict):
    type: Literal["AND", "OR"]
    values: list[Node]


class CohortFilters(_Strict):
    """The whole `filters` object; `properties` is None when the cohort has no criteria."""

    properties: FilterGroup | None = None


FilterGroup.model_rebuild()


def _pydantic_detail(exc: ValidationError) -> str:
    for error in exc.errors():
        ctx_error = (error.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _MissingKeys):
            return str(ctx_error)
    # PostHog reports anything else as the raw error list; it names the offending field.
    return repr(
        [
            {"type": e["type"], "loc": e["loc"], "msg": e["msg"], "input": e.get("input")}
            for e in exc.errors(include_url=False)
        ]
    )


def has_criteria(raw: Any) -> bool:
    """Whether a raw `filters` value holds any criteria (`properties.values` non-empty)."""
    if not isinstance(raw, dict):
        return False
    properties = raw.get("properties")
    return isinstance(properties, dict) and bool(properties.get("values"))


def parse_filters(raw: Any) -> CohortFilters:
    """Validate request `filters`; raises `FilterError` with PostHog's message."""
    if not isinstance(raw, dict) or "properties" not in raw:
        raise FilterError(SHAPE_MESSAGE, attr="filters__detail")
    data = dict(raw)
    # `{"properties": {}}` is how a cohort without criteria is shown; accept it back unchanged.
    if data.get("properties") in ({}, None):
        data["properties"] = None
    try:
        parsed = CohortFilters.model_validate(data)
    except ValidationError as exc:
        raise FilterError(_pydantic_detail(exc)) from None
    if parsed.properties is not None:
        _refuse_all_negative(parsed.properties)
    return parsed


def _refuse_all_negative(group: FilterGroup) -> None:
    """A negated criterion subtracts from its siblings; a group of only negations has nothing to
    subtract from, so PostHog cannot calculate it. Refuse it up front instead of failing later."""
    leaves = [v for v in group.values if not isinstance(v, FilterGroup)]
    if group.values and len(leaves) == len(group.values) and all(leaf.negation for leaf in leaves):
        raise FilterError("Top level condition cannot be negated")
    for value in group.values:
        if isinstance(value, FilterGroup):
            _refuse_all_negative(value)


def normalised(filters: CohortFilters) -> dict[str, Any]:
    """The stored form: defaults filled, null-valued keys dropped."""
    if filters.properties is None:
        return {"properties": {}}
    return {"properties": filters.properties.model_dump(mode="json", exclude_none=True)}


def parse_stored_filters(stored: Any) -> FilterGroup | None:
    """The typed criteria tree of a stored `filters` JSON (as saved by the API); None without criteria.

    Stored filters were validated on the way in, so this is lenient about the legacy shapes
    PostHog accepted: a group without criteria yields None.
    """
    if not has_criteria(stored):
        return None
    return CohortFilters.model_validate(stored).properties


def iter_leaves(group: FilterGroup) -> Iterator[PersonFilter | BehavioralFilter | CohortFilter]:
    for value in group.values:
        if isinstance(value, FilterGroup):
            yield from iter_leaves(value)
        else:
            yield value


def referenced_cohort_ids(group: FilterGroup | None) -> list[int]:
    if group is None:
        return []
    seen: dict[int, None] = {}
    for leaf in iter_leaves(group):
        if isinstance(leaf, CohortFilter):
            seen.setdefault(leaf.value)
    return list(seen)


def criteria_tree(filters: Any) -> dict[str, Any]:
    """The tree without the `properties` wrapper (`{}` if none), as calculation history records it."""
    if isinstance(filters, dict) and isinstance(filters.get("properties"), dict):
        return dict(filters["properties"])
    return {}


# --- legacy `groups` (deprecated, still accepted) -----------------------------------------------

LEGACY_GROUP_KEYS = (
    "properties",
    "action_id",
    "event_id",
    "days",
    "count",
    "count_operator",
    "start_date",
    "end_date",
    "label",
)


def normalise_legacy_groups(groups: list[Any]) -> list[Any]:
    """On create PostHog stores every legacy group with all its keys (missing ones null)."""
    out: list[Any] = []
    for group in groups:
        if isinstance(group, dict):
            out.append({key: group.get(key) for key in LEGACY_GROUP_KEYS} | group)
        else:
            out.append(group)
    return out


def _legacy_properties(properties: Any) -> list[dict[str, Any]]:
    if isinstance(properties, dict):
        return [{"key": k, "value": v, "type": "person"} for k, v in properties.items()]
    result: list[dict[str, Any]] = []
    for prop in properties or []:
        if not isinstance(prop, dict):
            continue
        item = dict(prop)
        if item.get("type") in (None, "event"):
            item["type"] = "person"
        result.append(item)
    return result


def _legacy_behavioral(group: dict[str, Any]) -> dict[str, Any]:
    action_id = group.get("action_id")
    count = group.get("count")
    leaf: dict[str, Any] = {
        "key": action_id if action_id is not None else group.get("event_id"),
        "type": "behavioral",
        "value": "performed_event_multiple" if isinstance(count, int) and count > 0 else "performed_event",
        "event_type": "actions" if action_id is not None else "events",
        "time_interval": "day",
        "time_value": group.get("days") or 365,
    }
    if group.get("count_operator") is not None:
        leaf["operator"] = group["count_operator"]
    if count is not None:
        leaf["operator_value"] = count
    return leaf


def groups_to_properties(groups: Any) -> dict[str, Any]:
    """Legacy groups as a modern tree: an OR of one AND group per legacy group."""
    if not isinstance(groups, list) or not groups:
        return {}
    values: list[dict[str, Any]] = []
    for group in groups:
        if not isinstance(group, dict):
            continue
        if group.get("action_id") is not None or group.get("event_id") is not None:
            inner = [_legacy_behavioral(group), *_legacy_properties(group.get("properties"))]
        else:
            inner = _legacy_properties(group.get("properties"))
        values.append({"type": "AND", "values": inner})
    return {"type": "OR", "values": values}
