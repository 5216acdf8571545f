"""Person property filters (`?properties=[...]` on the persons list), with PostHog's semantics.

Values compare as text, the way PostHog compares JSON property values: `5`, `5.0` and `"5"`
are equal, `true` equals `"true"`. A missing property never equals anything and is never set.
`between`/`not_between` take `[low, high]` (inclusive, numbers), `min`/`max` one number; the
`semver_*` operators are in `semver.py`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hedgerow.domain.persons.dates import compare_dates
from hedgerow.domain.persons.semver import compare_versions
from hedgerow.errors import InvalidInput

Operator = Literal[
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
    "in",
    "not_in",
    "is_date_exact",
    "is_date_before",
    "is_date_after",
    "between",
    "not_between",
    "min",
    "max",
    "is_cleaned_path_exact",
    "semver_eq",
    "semver_neq",
    "semver_gt",
    "semver_gte",
    "semver_lt",
    "semver_lte",
    "semver_tilde",
    "semver_caret",
    "semver_wildcard",
]


class PropertyFilter(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str
    value: Any = None
    operator: Operator = "exact"
    type: str = Field(default="person")


def parse_property_filters(raw: str | None) -> list[PropertyFilter]:
    """The `properties` query parameter: a JSON list of filters (or `{"values": [...]}` groups)."""
    if raw is None or not raw.strip():
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidInput("Properties are unparsable!", attr="properties") from None
    if isinstance(data, dict):
        data = data.get("values", [])
    if not isinstance(data, list):
        raise InvalidInput("Properties are unparsable!", attr="properties")
    try:
        return [PropertyFilter.model_validate(item) for item in _flatten(data)]
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(str(first.get("msg", "Invalid property filter.")), attr="properties") from None


def _flatten(items: Sequence[Any]) -> list[Any]:
    flat: list[Any] = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("values"), list):
            flat.extend(_flatten(item["values"]))
        else:
            flat.append(item)
    return flat


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _candidates(value: Any) -> list[str]:
    return [as_text(v) for v in value] if isinstance(value, list) else [as_text(value)]


def _compare(op: str, have: Any, want: Any) -> bool:
    """gt/gte/lt/lte, and `min`/`max` (at least / at most), as numbers only."""
    left, right = _as_number(have), _as_number(want)
    if left is None or right is None:
        return False
    if op in ("gte", "min"):
        return left >= right
    if op in ("lte", "max"):
        return left <= right
    return left > right if op == "gt" else left < right


def _within(have: Any, bounds: Any) -> bool | None:
    """Whether a number lies in `[low, high]` (inclusive); None when either side is not numeric
    or the bounds are not a pair."""
    if not isinstance(bounds, list | tuple) or len(bounds) != 2:
        return None
    number, low, high = _as_number(have), _as_number(bounds[0]), _as_number(bounds[1])
    if number is None or low is None or high is None:
        return None
    return low <= number <= high


def matches(properties: dict[str, Any], flt: PropertyFilter) -> bool:
    present = flt.key in properties and properties[flt.key] is not None
    if flt.operator == "is_set":
        return present
    if flt.operator == "is_not_set":
        return not present
    if flt.operator in ("is_not", "not_in", "not_icontains", "not_regex"):
        if not present:
            return True
    elif not present:
        return False
    have = as_text(properties[flt.key])
    wanted = _candidates(flt.value)
    if flt.operator in ("exact", "in"):
        return have in wanted
    if flt.operator in ("is_not", "not_in"):
        return have not in wanted
    if flt.operator.startswith("is_date_"):
        return compare_dates(flt.operator, properties[flt.key], flt.value)
    if flt.operator.startswith("semver_"):
        return compare_versions(flt.operator, properties[flt.key], flt.value)
    if flt.operator in ("between", "not_between"):
        within = _within(properties[flt.key], flt.value)
        return within is not None and within == (flt.operator == "between")
    if flt.operator == "is_cleaned_path_exact":
        # Paths are cleaned by a project's path-cleaning rules; without any, this is exact.
        return have in wanted
    if flt.operator == "icontains":
        return any(w.lower() in have.lower() for w in wanted)
    if flt.operator == "not_icontains":
        return not any(w.lower() in have.lower() for w in wanted)
    if flt.operator in ("regex", "not_regex"):
        try:
            found = re.search(as_text(flt.value), have) is not None
        except re.error:
            return False
        return found if flt.operator == "regex" else not found
    return _compare(flt.operator, properties[flt.key], flt.value)


def matches_all(properties: dict[str, Any], filters: Sequence[PropertyFilter]) -> bool:
    return all(matches(properties, f) for f in filters if f.type == "person")
