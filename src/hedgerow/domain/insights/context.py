"""The query an insight runs in a dashboard's context: dashboard filters and tile overrides applied."""

from __future__ import annotations

import copy
import json
from typing import Any

from hedgerow.errors import InvalidInput

WRAPPERS = ("InsightVizNode", "DataTableNode", "DataVisualizationNode")
# A TrendsQuery re-serialized in a dashboard's context carries every key, unset ones as null.
TRENDS_QUERY_DEFAULTS: dict[str, Any] = {
    "aggregation_group_type_index": None,
    "breakdownFilter": None,
    "compareFilter": None,
    "conversionGoal": None,
    "dataColorTheme": None,
    "dateRange": None,
    "filterTestAccounts": False,
    "interval": "day",
    "modifiers": None,
    "properties": [],
    "response": None,
    "samplingFactor": None,
    "tags": None,
    "trendsFilter": None,
}


def parse_override(raw: str | None, attr: str) -> dict[str, Any] | None:
    """`?filters_override=` / `?tile_filters_override=`: a JSON object, or a 400 naming the parameter."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidInput(f"Invalid JSON passed in {attr} parameter", attr=attr) from None
    if not isinstance(value, dict):
        raise InvalidInput(f"Invalid JSON passed in {attr} parameter", attr=attr)
    return value


def effective_filters(
    dashboard_filters: dict[str, Any] | None,
    override: dict[str, Any] | None,
    tile_overrides: dict[str, Any] | None,
) -> dict[str, Any]:
    """Dashboard filters with the request override merged over them; a non-empty tile override wins."""
    if tile_overrides:
        return dict(tile_overrides)
    merged = dict(dashboard_filters or {})
    merged.update(override or {})
    return merged


def _as_group(properties: Any) -> dict[str, Any]:
    if isinstance(properties, dict):
        return properties
    return {"type": "AND", "values": list(properties or [])}


def apply_dashboard_filters(query: dict[str, Any] | None, filters: dict[str, Any]) -> dict[str, Any] | None:
    """Dashboard filters applied to the source of a wrapper node, as PostHog does (§8.3)."""
    if not query or not filters or query.get("kind") not in WRAPPERS:
        return query
    result = copy.deepcopy(query)
    source = result.get("source")
    if not isinstance(source, dict):
        return result
    dashboard_props = filters.get("properties")
    if dashboard_props:
        own = source.get("properties")
        if own:
            source["properties"] = {
                "type": "AND",
                "values": [_as_group(own), {"type": "AND", "values": list(dashboard_props)}],
            }
        else:
            source["properties"] = list(dashboard_props)
    if filters.get("date_from") is not None or filters.get("date_to") is not None:
        # A dashboard date range replaces both bounds: only `date_from` clears the insight's `date_to`.
        date_range = dict(source.get("dateRange") or {})
        date_range["date_from"] = filters.get("date_from")
        date_range["date_to"] = filters.get("date_to")
        date_range["explicitDate"] = bool(filters.get("explicitDate", False))
        source["dateRange"] = date_range
    if filters.get("breakdown_filter"):
        source["breakdownFilter"] = filters["breakdown_filter"]
    compare = source.get("compareFilter") or {}
    if compare.get("compare") and filters.get("date_from") == "all":
        source["compareFilter"] = {**compare, "compare": False}
    if source.get("kind") == "TrendsQuery":
        for key, default in TRENDS_QUERY_DEFAULTS.items():
            source.setdefault(key, copy.deepcopy(default))
    return result
