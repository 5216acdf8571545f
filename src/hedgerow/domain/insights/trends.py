"""Run a TrendsQuery over the analytics store and shape PostHog's result objects (§7)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hedgerow.domain.insights import dates
from hedgerow.domain.insights.formulas import apply_formulas, formula_nodes
from hedgerow.query import trends as compiler
from hedgerow.store.base import AnalyticsStore, CompiledQuery

BREAKDOWN_NULL = "$$_posthog_breakdown_null_$$"
BREAKDOWN_OTHER = "$$_posthog_breakdown_other_$$"
DEFAULT_BREAKDOWN_LIMIT = 25


@dataclass(frozen=True)
class TrendsOutcome:
    result: list[dict[str, Any]]
    has_more: bool
    hogql: str
    date_to: datetime
    interval: str


def _number(value: Any) -> int | float:
    number = float(value or 0)
    if not math.isfinite(number):
        return 0  # an aggregate over no usable values; JSON has no NaN
    return int(number) if number.is_integer() else number


def _filter_echo(source: Mapping[str, Any], window: dates.DateWindow) -> dict[str, Any]:
    echo: dict[str, Any] = {
        "insight": "TRENDS",
        "properties": [],
        "filter_test_accounts": bool(source.get("filterTestAccounts")),
        "date_from": dates.iso(window.date_from),
        "date_to": dates.iso(window.date_to),
        "entity_type": "events",
        "interval": window.interval,
    }
    for block in ("trendsFilter", "breakdownFilter"):
        for key, value in (source.get(block) or {}).items():
            if value is not None:
                echo[key] = value
    return echo


def _action(series: Mapping[str, Any], index: int, window: dates.DateWindow) -> dict[str, Any]:
    # For actions PostHog reports the action's name where events have the event name.
    event = series.get("name") if series.get("kind") == "ActionsNode" else series.get("event")
    return {
        "id": event,
        "type": "events",
        "order": index,
        "name": series.get("name") or event or "All events",
        "custom_name": series.get("custom_name"),
        "math": series.get("math") or "total",
        "math_property": series.get("math_property"),
        "math_hogql": series.get("math_hogql"),
        "math_group_type_index": series.get("math_group_type_index"),
        "properties": {},
        "days": [dates.iso(b.replace(tzinfo=window.date_from.tzinfo)) for b in window.buckets],
    }


def _ranked_breakdowns(
    by_value: dict[str | None, dict[str, int | float]], limit: int
) -> tuple[list[str | None], list[str | None]]:
    """(kept values in result order, values merged into "other")."""
    named = sorted((v for v in by_value if v is not None), key=lambda v: (-sum(by_value[v].values()), v))
    kept, rest = named[:limit], named[limit:]
    ordered: list[str | None] = list(kept)
    if None in by_value:
        ordered.append(None)
    return ordered, list(rest)


def _breakdown_order(item: Mapping[str, Any]) -> tuple[bool, bool, float, str]:
    """Values by total, largest first (ties by value), then null, then other."""
    value = item.get("breakdown_value")
    parts = value if isinstance(value, list) else [value]  # several breakdowns: a list
    total = item.get("aggregated_value") if "aggregated_value" in item else item.get("count")
    other = all(p == BREAKDOWN_OTHER for p in parts)
    return (other, all(p == BREAKDOWN_NULL for p in parts), -float(total or 0), str(value))


def _shown_value(value: Any, width: int) -> Any:
    """A breakdown value as results show it: null and other marked; a list for several breakdowns."""
    if value is None:
        return BREAKDOWN_NULL
    if width > 1:
        if value == BREAKDOWN_OTHER:
            return [BREAKDOWN_OTHER] * width
        return str(value).split(compiler.MULTI_BREAKDOWN_SEPARATOR)
    return value


def _merged(by_value: Mapping[Any, Mapping[str, int | float]]) -> dict[str, int | float]:
    merged: dict[str, int | float] = {}
    for cells in by_value.values():
        for bucket, amount in cells.items():
            merged[bucket] = merged.get(bucket, 0) + amount
    return merged


def _cohort_label(value: Any, resolved: compiler.Resolved) -> str:
    if value == "all":
        return "all users"
    source = resolved.cohorts.get(value)
    return (source.name if source and source.name else None) or f"Cohort {value}"


def _is_cumulative(source: Mapping[str, Any]) -> bool:
    return (source.get("trendsFilter") or {}).get("display") == "ActionsLineGraphCumulative"


def _shape(data: list[int | float], source: Mapping[str, Any]) -> list[int | float]:
    """Running totals for cumulative graphs; otherwise the moving average of `smoothingIntervals`."""
    if _is_cumulative(source):
        running: list[int | float] = []
        total: int | float = 0
        for value in data:
            total += value
            running.append(total)
        return running
    window = int((source.get("trendsFilter") or {}).get("smoothingIntervals") or 1)
    if window <= 1:
        return data
    smoothed: list[int | float] = []
    for i in range(len(data)):
        recent = data[max(0, i - window + 1) : i + 1]
        smoothed.append(math.floor(sum(recent) / len(recent)))
    return smoothed


def _earliest(store: AnalyticsStore, project_id: int) -> datetime | None:
    compiled = compiler.compile_earliest(project_id, store.dialect)
    rows = store.query(CompiledQuery(sql=compiled.sql, params=compiled.params))
    value = rows[0][0] if rows else None
    return value if isinstance(value, datetime) else None


def run_trends(
    store: AnalyticsStore,
    source: Mapping[str, Any],
    *,
    project_id: int,
    timezone: str,
    now: datetime,
    cohorts: Mapping[int, compiler.CohortSource],
    week_start: int = 0,
    actions: Mapping[int, Sequence[Mapping[str, Any]]] | None = None,
) -> TrendsOutcome:
    """`cohorts` and `actions` (steps per action id) are what the query refers to, resolved."""
    resolved = compiler.Resolved(cohorts=cohorts, actions=actions or {})
    total_value = compiler.is_total_value(source)
    interval = "day" if total_value else (source.get("interval") or "day")
    window = dates.resolve(
        source.get("dateRange"),
        interval,
        now=now,
        timezone=timezone,
        week_start=week_start,
        earliest=_earliest(store, project_id)
        if (source.get("dateRange") or {}).get("date_from") == "all"
        else None,
    )
    periods = [
        _run_period(store, source, window, project_id, timezone, week_start, total_value, resolved, now)
    ]
    compare = source.get("compareFilter") or {}
    if compare.get("compare"):
        compare_to = compare.get("compare_to")
        previous = (
            dates.shifted_window(window, str(compare_to), week_start)
            if compare_to
            else dates.previous_window(window, source.get("dateRange"))
        )
        periods.append(
            _run_period(store, source, previous, project_id, timezone, week_start, total_value, resolved, now)
        )
    formulas = formula_nodes(source)
    results: list[dict[str, Any]] = []
    for number, period in enumerate(periods):
        shaped = period.results
        if formulas:
            shaped = apply_formulas(
                shaped,
                formulas,
                len(compiler.series_list(source)),
                total_value,
                # Cohort breakdowns keep the order the cohorts were listed in.
                order=None if compiler.cohort_breakdown_values(source) else _breakdown_order,
            )
        if len(periods) > 1:
            for item in shaped:
                item.update(compare=True, compare_label="current" if number == 0 else "previous")
        results.extend(shaped)
    return TrendsOutcome(
        result=results,
        has_more=any(p.has_more for p in periods),
        hogql=";\n".join(sql for p in periods for sql in p.statements),
        date_to=dates.to_utc(window.date_to),
        interval=interval,
    )


@dataclass(frozen=True)
class _Period:
    results: list[dict[str, Any]]
    has_more: bool
    statements: list[str]


def _run_period(
    store: AnalyticsStore,
    source: Mapping[str, Any],
    window: dates.DateWindow,
    project_id: int,
    timezone: str,
    week_start: int,
    total_value: bool,
    resolved: compiler.Resolved,
    now: datetime,
) -> _Period:
    interval = window.interval
    ctx = compiler.TrendsContext(
        project_id=project_id,
        timezone=timezone,
        date_from=dates.to_utc(window.lower),
        date_to=dates.to_utc(window.date_to),
        interval=interval,
        week_start=week_start,
        total_value=total_value,
        cohorts=resolved.cohorts,
        actions=resolved.actions,
        first_seen=_is_cumulative(source),
        now=now,
    )
    cumulative = _is_cumulative(source)
    series_list = compiler.series_list(source)
    breakdown = source.get("breakdownFilter") or {}
    cohort_values = compiler.cohort_breakdown_values(source)
    width = len(compiler.breakdown_properties(source))  # more than 1: several breakdowns
    has_breakdown = bool(cohort_values) or width > 0
    limit = int(breakdown.get("breakdown_limit") or DEFAULT_BREAKDOWN_LIMIT)
    hide_other = bool(breakdown.get("breakdown_hide_other_aggregation"))
    bucket_keys = [b.strftime("%Y-%m-%d %H:%M:%S") for b in window.buckets]
    labels, days = dates.labels(window), dates.day_strings(window)
    filter_echo = _filter_echo(source, window)
    results: list[dict[str, Any]] = []
    has_more = False
    statements: list[str] = []

    def cells_by_value(query: Mapping[str, Any], index: int) -> dict[str | None, dict[str, int | float]]:
        compiled = compiler.compile_series(query, index, ctx, store.dialect)
        statements.append(compiled.sql)
        found: dict[str | None, dict[str, int | float]] = {}
        for bucket, value, amount in store.query(CompiledQuery(sql=compiled.sql, params=compiled.params)):
            cell = found.setdefault(None if value is None else str(value), {})
            cell[str(bucket)] = cell.get(str(bucket), 0) + _number(amount)
        return found

    for index, series in enumerate(series_list):
        groups: list[tuple[Any, dict[str, int | float]]]
        if cohort_values:
            # One statement per cohort; "all" is everyone the series matches.
            groups = [
                (value, _merged(cells_by_value(compiler.for_cohort(source, value), index)))
                for value in cohort_values
            ]
        elif has_breakdown:
            by_value = cells_by_value(source, index)
            ordered, rest = _ranked_breakdowns(by_value, limit)
            if rest:
                has_more = True
                by_value[BREAKDOWN_OTHER] = _merged({v: by_value[v] for v in rest})
                if not hide_other:
                    ordered.append(BREAKDOWN_OTHER)
            groups = [(v, by_value[v]) for v in ordered]
        else:
            groups = [(None, _merged(cells_by_value(source, index)))]

        base_label = series.get("custom_name") or series.get("name") or series.get("event") or "All events"
        # One number of active people is the window that ends with the range's last day.
        total_key = bucket_keys[-1] if compiler.is_rolling(series, interval) and bucket_keys else ""
        for value, cells in groups:
            shown = _shown_value(value, width) if has_breakdown else value
            item: dict[str, Any] = {}
            if total_value:
                item.update(data=[], days=days, count=0, aggregated_value=_number(cells.get(total_key, 0)))
            else:
                data = _shape([cells.get(key, 0) for key in bucket_keys], source)
                count = float(data[-1] if cumulative and data else sum(data))
                item.update(data=data, labels=labels, days=days, count=count)
            if has_breakdown:
                name = (
                    _cohort_label(value, resolved)
                    if cohort_values
                    else "::".join(shown)
                    if isinstance(shown, list)
                    else str(shown)
                )
                item["label"] = name if len(series_list) == 1 else f"{base_label} - {name}"
                item["breakdown_value"] = shown
            else:
                item["label"] = base_label
            item["filter"] = filter_echo
            item["action"] = _action(series, index, window)
            results.append(item)
    return _Period(results=results, has_more=has_more, statements=statements)
