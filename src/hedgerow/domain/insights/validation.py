"""What an insight's `query` must look like before it is saved (a subset of PostHog's query schema).

PostHog validates the query while parsing the body, so a bad query is a parse error
(`invalid_request` / `parse_error`, no `attr`). Its schema forbids unknown keys in every node; the
nodes of trends insights are checked here, key by key.
"""

from __future__ import annotations

from typing import Any

from hedgerow.errors import MalformedRequest

SERIES_KINDS = ("EventsNode", "ActionsNode", "DataWarehouseNode")
INTERVALS = ("minute", "hour", "day", "week", "month", "second")
_COMMON = frozenset({"kind", "version", "response"})
INSIGHT_VIZ_KEYS = _COMMON | {
    "source",
    "full",
    "showHeader",
    "showTable",
    "showCorrelationTable",
    "showLastComputation",
    "showLastComputationRefresh",
    "showFilters",
    "showResults",
    "embedded",
    "suppressSessionAnalysisWarning",
    "hidePersonsModal",
    "hideTooltipOnScroll",
    "vizSpecificOptions",
}
TRENDS_QUERY_KEYS = _COMMON | {
    "series",
    "interval",
    "dateRange",
    "properties",
    "filterTestAccounts",
    "breakdownFilter",
    "trendsFilter",
    "compareFilter",
    "samplingFactor",
    "aggregation_group_type_index",
    "dataColorTheme",
    "conversionGoal",
    "modifiers",
    "tags",
}
EVENTS_NODE_KEYS = _COMMON | {
    "event",
    "name",
    "custom_name",
    "math",
    "math_property",
    "math_property_type",
    "math_hogql",
    "math_group_type_index",
    "math_property_revenue_currency",
    "math_multiplier",
    "properties",
    "fixedProperties",
    "limit",
    "orderBy",
    "optionalInFunnel",
}
ACTIONS_NODE_KEYS = EVENTS_NODE_KEYS | {"id"}
DATE_RANGE_KEYS = frozenset({"date_from", "date_to", "explicitDate", "excludeIncompletePeriods"})
COMPARE_FILTER_KEYS = frozenset({"compare", "compare_to"})
BREAKDOWN_FILTER_KEYS = frozenset(
    {
        "breakdown_type",
        "breakdown",
        "breakdown_limit",
        "breakdown_hide_other_aggregation",
        "breakdown_normalize_url",
        "breakdown_histogram_bin_count",
        "breakdown_group_type_index",
        "breakdowns",
    }
)


def _fail(detail: str) -> MalformedRequest:
    return MalformedRequest(detail)


def _known_keys(node: Any, allowed: frozenset[str], schema: str, path: str) -> None:
    if node is None:
        return
    if not isinstance(node, dict):
        raise _fail(f"1 validation error for {schema}\n{path}\n  Input should be a valid dictionary")
    extra = sorted(set(node) - allowed)
    if extra:
        where = f"{path}.{extra[0]}" if path else extra[0]
        raise _fail(f"1 validation error for {schema}\n{where}\n  Extra inputs are not permitted")


def _check_trends(source: dict[str, Any], path: str) -> None:
    _known_keys(source, TRENDS_QUERY_KEYS, "TrendsQuery", path)
    series = source.get("series")
    if not isinstance(series, list):
        raise _fail("TrendsQuery needs a 'series' list")
    for index, item in enumerate(series):
        if not isinstance(item, dict) or item.get("kind") not in SERIES_KINDS:
            raise _fail(f"Series must be one of {', '.join(SERIES_KINDS)}")
        if item["kind"] == "EventsNode":
            _known_keys(item, EVENTS_NODE_KEYS, "EventsNode", f"{path}.series.{index}".lstrip("."))
        elif item["kind"] == "ActionsNode":
            _known_keys(item, ACTIONS_NODE_KEYS, "ActionsNode", f"{path}.series.{index}".lstrip("."))
    interval = source.get("interval")
    if interval is not None and interval not in INTERVALS:
        raise _fail(f'"{interval}" is not a valid interval')
    for key, allowed, schema in (
        ("dateRange", DATE_RANGE_KEYS, "DateRange"),
        ("compareFilter", COMPARE_FILTER_KEYS, "CompareFilter"),
        ("breakdownFilter", BREAKDOWN_FILTER_KEYS, "BreakdownFilter"),
    ):
        _known_keys(source.get(key), allowed, schema, f"{path}.{key}".lstrip("."))


def check_query(query: Any) -> None:
    """Raises MalformedRequest for what PostHog's schema would reject; `{}` is never checked."""
    if not isinstance(query, dict):
        raise _fail("Query must be a valid JSON object")
    kind = query.get("kind")
    if not isinstance(kind, str):
        raise _fail("Query must have a 'kind'")
    wrapped = kind in ("InsightVizNode", "DataTableNode", "DataVisualizationNode")
    source = query.get("source") if wrapped else query
    if kind == "InsightVizNode":
        if not isinstance(source, dict):
            raise _fail("InsightVizNode needs a 'source' query")
        _known_keys(query, INSIGHT_VIZ_KEYS, "InsightVizNode", "")
    if isinstance(source, dict) and source.get("kind") == "TrendsQuery":
        _check_trends(source, "source" if wrapped else "")
