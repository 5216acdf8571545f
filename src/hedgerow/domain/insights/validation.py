"""What an insight's `query` must look like before it is saved (a light subset of PostHog's schema)."""

from __future__ import annotations

from typing import Any

from hedgerow.errors import InvalidInput

SERIES_KINDS = ("EventsNode", "ActionsNode", "DataWarehouseNode")


def _fail(detail: str) -> InvalidInput:
    return InvalidInput(detail, attr="query")


def check_query(query: Any) -> None:
    """Raises InvalidInput (attr `query`) for what PostHog's schema would reject; `{}` is never checked."""
    if not isinstance(query, dict):
        raise _fail("Query must be a valid JSON object")
    kind = query.get("kind")
    if not isinstance(kind, str):
        raise _fail("Query must have a 'kind'")
    source = (
        query.get("source") if kind in ("InsightVizNode", "DataTableNode", "DataVisualizationNode") else query
    )
    if kind == "InsightVizNode" and not isinstance(source, dict):
        raise _fail("InsightVizNode needs a 'source' query")
    if isinstance(source, dict) and source.get("kind") == "TrendsQuery":
        series = source.get("series")
        if not isinstance(series, list):
            raise _fail("TrendsQuery needs a 'series' list")
        for item in series:
            if not isinstance(item, dict) or item.get("kind") not in SERIES_KINDS:
                raise _fail(f"Series must be one of {', '.join(SERIES_KINDS)}")
        interval = source.get("interval")
        if interval is not None and interval not in ("minute", "hour", "day", "week", "month", "second"):
            raise _fail(f'"{interval}" is not a valid interval')
