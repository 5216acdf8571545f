"""Property filters (person and event) lowered to `PropertyMatch` tests.

Semantics follow PostHog's ClickHouse property filters: the stored value is read as text (JSON
strings unquoted, numbers and booleans as written, null and missing as absent); `exact` is a
case-sensitive match against the filter value(s) turned into text, so `true` equals `"true"` and
`5` equals `"5"`; `gt`/`lt`/... compare numerically when the filter value is a number and as
strings otherwise; negative operators match persons lacking the property.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from hedgerow.query.plan import CompareOp, LoweringError, PropertyMatch
from hedgerow.query.timeparse import parse_point, to_us

NUMERIC = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
# Constructs Python accepts but RE2 (both engines' regex library) rejects.
RE2_UNSUPPORTED = re.compile(r"\(\?[=!]|\(\?<[=!]|\\[1-9]|\(\?P=|\(\?\(|\\[Z]")
IN_LIKE = {"exact": False, "in": False, "is_not": True, "not_in": True}
COMPARE = {"gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte", "min": "gte", "max": "lte"}
UNSUPPORTED_OPERATORS = ("is_cleaned_path_exact", "flag_evaluates_to")


def as_text(value: Any) -> str:
    """How a filter value reads when compared with a stored value's text."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _values(value: Any) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    return [v for v in items if v is not None]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and NUMERIC.match(value.strip()):
        return float(value.strip())
    return None


def check_regex(pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise LoweringError(f"Invalid regex pattern '{pattern}': {exc}", code="invalid_regex") from None
    if RE2_UNSUPPORTED.search(pattern):
        raise LoweringError(
            f"Invalid regex pattern '{pattern}': lookarounds and backreferences are not supported",
            code="invalid_regex",
        )


def _scalar(value: Any, operator: str) -> Any:
    if isinstance(value, list):
        if len(value) != 1:
            raise LoweringError(f"Operator '{operator}' takes a single value")
        return value[0]
    return value


def date_match(key: str, operator: str, value: Any, *, now: datetime, timezone: str) -> PropertyMatch:
    value = _scalar(value, operator)
    if not isinstance(value, str) or not value.strip():
        raise LoweringError(f"Operator '{operator}' needs a date value")
    point, date_only = parse_point(value, now=now, timezone=timezone)
    start = to_us(point)
    if operator == "is_date_before":
        return PropertyMatch(key, "date_cmp", (start,), "lt")
    if operator == "is_date_after":
        # A date-only value means "after that day": the day's last second is the compare point.
        bound = to_us(point + timedelta(days=1) - timedelta(seconds=1)) if date_only else start
        return PropertyMatch(key, "date_cmp", (bound,), "gt")
    if date_only:
        return PropertyMatch(key, "date_cmp", (start, to_us(point + timedelta(days=1))), "range")
    return PropertyMatch(key, "date_cmp", (start,), "eq")


def property_match(
    key: Any, operator: str | None, value: Any, *, now: datetime, timezone: str
) -> PropertyMatch:
    if not isinstance(key, str) or not key:
        raise LoweringError("Property filter needs a key")
    op = operator or "exact"
    if op in IN_LIKE:
        texts = tuple(as_text(v) for v in _values(value))
        return PropertyMatch(key, "in", texts, negated=IN_LIKE[op])
    if op in ("icontains", "not_icontains"):
        needles = tuple(as_text(v).lower() for v in _values(value))
        return PropertyMatch(key, "contains", needles, negated=op == "not_icontains")
    if op in ("regex", "not_regex"):
        patterns = tuple(as_text(v) for v in _values(value))
        for pattern in patterns:
            check_regex(pattern)
        return PropertyMatch(key, "regex", patterns, negated=op == "not_regex")
    if op in COMPARE:
        scalar = _scalar(value, op)
        if scalar is None:
            raise LoweringError(f"Operator '{op}' needs a value")
        cmp: CompareOp = COMPARE[op]  # type: ignore[assignment]
        number = _number(scalar)
        if number is not None:
            return PropertyMatch(key, "num_cmp", (number,), cmp)
        return PropertyMatch(key, "str_cmp", (as_text(scalar),), cmp)
    if op in ("between", "not_between"):
        bounds = [_number(v) for v in (value if isinstance(value, list) else [])]
        if len(bounds) != 2 or bounds[0] is None or bounds[1] is None:
            raise LoweringError(f"Operator '{op}' needs two numbers [min, max]")
        if op == "between":
            return PropertyMatch(key, "num_between", (bounds[0], bounds[1]))
        return PropertyMatch(key, "num_outside", (bounds[0], bounds[1]))
    if op in ("is_set", "is_not_set"):
        return PropertyMatch(key, "is_set", negated=op == "is_not_set")
    if op in ("is_date_exact", "is_date_before", "is_date_after"):
        return date_match(key, op, value, now=now, timezone=timezone)
    if op in UNSUPPORTED_OPERATORS:
        raise LoweringError(f"Operator '{op}' is not supported for cohort criteria")
    raise LoweringError(f"Unknown operator '{op}'")


def filter_match(prop: Mapping[str, Any], *, now: datetime, timezone: str) -> PropertyMatch:
    return property_match(
        prop.get("key"), prop.get("operator"), prop.get("value"), now=now, timezone=timezone
    )
