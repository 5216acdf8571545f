"""What a TrendsQuery refers to and how it breaks down, read from its JSON (pure: no I/O).

The caller resolves cohorts and actions these name before compiling (see `query.trends`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hedgerow.query.dialects.trends_conditions import TrendsQueryError

# How one statement groups by several breakdowns: their values joined (missing ones marked).
MULTI_BREAKDOWN_SEPARATOR = "\x1f"
MULTI_BREAKDOWN_NULL = "$$_posthog_breakdown_null_$$"


def action_ids(source: Mapping[str, Any]) -> set[int]:
    """Actions the series refer to, so the caller can resolve their steps before compiling."""
    return {
        int(s["id"])
        for s in source.get("series") or []
        if isinstance(s, dict) and s.get("kind") == "ActionsNode" and isinstance(s.get("id"), int)
    }


def cohort_ids(source: Mapping[str, Any]) -> set[int]:
    """Every cohort a query filters on, so the caller can resolve them before compiling."""
    found: set[int] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            if node.get("type") == "cohort" and "key" in node:
                try:
                    found.add(int(node.get("value")))  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    raise TrendsQueryError(
                        "Cohort filters need a cohort id as value.", "properties"
                    ) from None
            for value in node.values():
                walk(value)

    walk(source.get("properties"))
    for series in source.get("series") or []:
        walk(series.get("properties") if isinstance(series, dict) else None)
    return found | {v for v in cohort_breakdown_values(source) if isinstance(v, int)}


def breakdown_properties(source: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(property, event|person) per breakdown: `breakdownFilter.breakdowns` (up to 3), else the one
    `breakdown`; [] without a property breakdown."""
    breakdown = source.get("breakdownFilter") or {}
    several = breakdown.get("breakdowns")
    if isinstance(several, list) and several:
        if len(several) > 3:
            raise TrendsQueryError("At most 3 breakdowns are allowed.", "breakdownFilter")
        wanted = [
            (item.get("property"), item.get("type") or "event") if isinstance(item, dict) else (None, None)
            for item in several
        ]
    elif breakdown.get("breakdown") not in (None, "", []) and breakdown.get("breakdown_type") != "cohort":
        wanted = [(breakdown["breakdown"], breakdown.get("breakdown_type") or "event")]
    else:
        return []
    found: list[tuple[str, str]] = []
    for key, kind in wanted:
        if kind not in ("event", "person") or not isinstance(key, str | int | float):
            raise TrendsQueryError(f'Breakdowns of type "{kind}" are not supported.', "breakdownFilter")
        found.append((str(key), str(kind)))
    return found


def cohort_breakdown_values(source: Mapping[str, Any]) -> list[int | str]:
    """A cohort breakdown's cohorts (ids, and "all" for everyone), or [] for other breakdowns."""
    breakdown = source.get("breakdownFilter") or {}
    if breakdown.get("breakdown_type") != "cohort" or breakdown.get("breakdown") in (None, "", []):
        return []
    raw = breakdown["breakdown"]
    values: list[int | str] = []
    for value in raw if isinstance(raw, list) else [raw]:
        if value == "all":
            values.append("all")
        elif isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            values.append(int(value))
        else:
            raise TrendsQueryError('A cohort breakdown lists cohort ids or "all".', "breakdownFilter")
    return values


def for_cohort(source: Mapping[str, Any], value: int | str) -> dict[str, Any]:
    """The query restricted to one cohort of a cohort breakdown (unrestricted for "all")."""
    variant = {k: v for k, v in source.items() if k != "breakdownFilter"}
    if value != "all":
        member = {"key": "id", "value": value, "type": "cohort", "operator": "in"}
        own = source.get("properties")
        variant["properties"] = {"type": "AND", "values": [own, [member]]} if own else [member]
    return variant
