"""TrendsQuery -> one SQL statement per series, for DuckDB or ClickHouse (pure: no I/O).

Each statement returns rows `(bucket, breakdown_value, value)`: `bucket` is the bucket start as
`YYYY-MM-DD HH:MM:SS` wall-clock time in the project's zone ('' for total-value displays),
`breakdown_value` the property as text (NULL when missing or without a breakdown). Zero-filling,
breakdown limits and labels are the caller's job; so is resolving dates and cohorts (see
`TrendsContext`). Persons are the ones events were attributed to at ingestion (`events.person_id`),
which is PostHog's "persons on events" mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

from sqlglot import exp

from hedgerow.query.dialects import trends_clickhouse, trends_duckdb
from hedgerow.query.dialects.trends_conditions import CohortSource, ConditionBuilder, TrendsQueryError
from hedgerow.query.trends_source import (
    MULTI_BREAKDOWN_NULL,
    MULTI_BREAKDOWN_SEPARATOR,
    action_ids,
    breakdown_properties,
    cohort_breakdown_values,
    cohort_ids,
    for_cohort,
)

DIALECTS: dict[str, ModuleType] = {"duckdb": trends_duckdb, "clickhouse": trends_clickhouse}
INTERVALS = ("minute", "hour", "day", "week", "month")
PROPERTY_MATH = {
    "sum": None,
    "avg": None,
    "min": None,
    "max": None,
    "median": 0.5,
    "p75": 0.75,
    "p90": 0.9,
    "p95": 0.95,
    "p99": 0.99,
}
# Events per person in each bucket, then this aggregate over the persons.
COUNT_PER_ACTOR_MATH = {
    "avg_count_per_actor": ("avg", None),
    "min_count_per_actor": ("min", None),
    "max_count_per_actor": ("max", None),
    "median_count_per_actor": ("median", 0.5),
    "p75_count_per_actor": ("p75", 0.75),
    "p90_count_per_actor": ("p90", 0.9),
    "p95_count_per_actor": ("p95", 0.95),
    "p99_count_per_actor": ("p99", 0.99),
}
# Active users: distinct persons over the window of days ending with each day bucket.
ACTIVE_WINDOW_DAYS = {"weekly_active": 7, "monthly_active": 30}
# Persons counted once, in the bucket of their first matching event ever (if it is in range).
FIRST_TIME_MATH = ("first_time_for_user", "first_matching_event_for_user")
SUPPORTED_MATH = (
    None,
    "total",
    "dau",
    "unique_session",
    *PROPERTY_MATH,
    *COUNT_PER_ACTOR_MATH,
    *ACTIVE_WINDOW_DAYS,
    *FIRST_TIME_MATH,
)
TOTAL_VALUE_DISPLAYS = frozenset(
    {"BoldNumber", "ActionsPie", "ActionsBarValue", "ActionsTable", "WorldMap", "CalendarHeatmap"}
)


@dataclass(frozen=True)
class TrendsContext:
    project_id: int
    timezone: str
    date_from: datetime  # UTC, inclusive
    date_to: datetime  # UTC, inclusive
    interval: str
    week_start: int = 0  # 0 Sunday, 1 Monday
    total_value: bool = False
    cohorts: Mapping[int, CohortSource] = field(default_factory=dict)
    actions: Mapping[int, Sequence[Mapping[str, Any]]] = field(default_factory=dict)  # steps per action
    # Cumulative graphs count each person once, in the bucket where they first appear.
    first_seen: bool = False
    # When the query runs: relative values of date property filters count back from it
    # (unset: from the end of the range).
    now: datetime | None = None


@dataclass(frozen=True)
class Resolved:
    """What a query refers to, looked up by the caller: cohort sources and action steps."""

    cohorts: Mapping[int, CohortSource] = field(default_factory=dict)
    actions: Mapping[int, Sequence[Mapping[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class SeriesSQL:
    sql: str
    params: dict[str, Any]


def is_rolling(series: Mapping[str, Any], interval: str) -> bool:
    """Whether a series counts active people over a rolling window of days at this interval."""
    days = ACTIVE_WINDOW_DAYS.get(series.get("math") or "")
    return days is not None and (interval == "day" or (interval == "week" and days > 7))


def is_total_value(source: Mapping[str, Any]) -> bool:
    display = (source.get("trendsFilter") or {}).get("display")
    return display in TOTAL_VALUE_DISPLAYS


__all__ = [
    "MULTI_BREAKDOWN_NULL",
    "MULTI_BREAKDOWN_SEPARATOR",
    "CohortSource",
    "SeriesSQL",
    "TrendsContext",
    "TrendsQueryError",
    "action_ids",
    "breakdown_properties",
    "cohort_breakdown_values",
    "cohort_ids",
    "compile_series",
    "for_cohort",
]


def series_list(source: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    series = source.get("series")
    if not isinstance(series, list) or not series:
        raise TrendsQueryError("A trends query needs at least one series.", "series")
    for item in series:
        if not isinstance(item, dict) or item.get("kind") not in ("EventsNode", "ActionsNode"):
            raise TrendsQueryError("Only EventsNode and ActionsNode series are supported.", "series")
        if item.get("math") not in SUPPORTED_MATH:
            raise TrendsQueryError(f'Math "{item.get("math")}" is not supported.', "series")
        if item.get("math") in PROPERTY_MATH and not isinstance(item.get("math_property"), str):
            raise TrendsQueryError(f'Math "{item["math"]}" needs a math_property.', "series")
    return series


def _aggregate(b: ConditionBuilder, series: Mapping[str, Any]) -> exp.Expr:
    math = series.get("math") or "total"
    if math == "dau":
        return b.d.count_distinct(exp.column("person_id", table="e"))
    if math == "unique_session":
        return b.d.count_distinct(b.prop_value("$session_id", "event"))
    if math in PROPERTY_MATH:
        kind = "person" if series.get("math_property_type") == "person_properties" else "event"
        number = b.d.to_number(b.prop_value(str(series["math_property"]), kind))
        return b.d.aggregate(math, number, PROPERTY_MATH[math])
    return exp.Count(this=exp.Star())


def compile_series(source: Mapping[str, Any], index: int, ctx: TrendsContext, dialect: str) -> SeriesSQL:
    """The statement for series `index` of a TrendsQuery `source`."""
    if ctx.interval not in INTERVALS:
        raise TrendsQueryError(f'Interval "{ctx.interval}" is not supported.', "interval")
    series = series_list(source)[index]
    math = series.get("math") or "total"
    window_days = ACTIVE_WINDOW_DAYS.get(math)
    if window_days and ctx.interval in ("week", "month") and not is_rolling(series, ctx.interval):
        # A bucket at least as long as the window: PostHog counts plain uniques then.
        series, math, window_days = {**series, "math": "dau"}, "dau", None
    if window_days and ctx.interval not in ("day", "week"):
        raise TrendsQueryError(f'Math "{math}" needs a daily time series.', "series")
    lower = ctx.date_from - timedelta(days=window_days - 1) if window_days else ctx.date_from
    # Filters pick the events; the first of them must fall in range (PostHog's nuance between the
    # two first-time maths is not confirmed, so both count the first matching event).
    first_time = math in FIRST_TIME_MATH
    b = ConditionBuilder(
        DIALECTS[dialect],
        project_id=ctx.project_id,
        cohorts=ctx.cohorts,
        actions=ctx.actions,
        timezone=ctx.timezone,
        now=ctx.now or ctx.date_to,
    )
    e_ts = exp.column("timestamp", table="e")
    conditions: list[exp.Expr] = [exp.column("project_id", table="e").eq(b.param(ctx.project_id, "int"))]
    if not first_time:
        conditions.append(exp.GTE(this=e_ts, expression=b.param(lower, "datetime")))
        conditions.append(exp.LTE(this=e_ts, expression=b.param(ctx.date_to, "datetime")))
    if series.get("kind") == "ActionsNode":
        conditions.append(b.action(series.get("id")))
    elif series.get("event") is not None:
        conditions.append(exp.column("event", table="e").eq(b.param(str(series["event"]), "string")))
    for node in (source.get("properties"), series.get("properties")):
        condition = b.properties(node)
        if condition is not None:
            conditions.append(condition)

    # Active-user rows are per day (the caller reads bucket starts, or the last day for one number).
    if ctx.total_value or window_days or first_time:
        bucket: exp.Expr = exp.Literal.string("")
    else:
        local = b.d.local_time(e_ts, b.param(ctx.timezone, "string"))
        bucket = b.d.bucket_start(local, ctx.interval, ctx.week_start)
    properties = breakdown_properties(source)
    if properties and first_time:
        raise TrendsQueryError(f'Math "{math}" cannot be broken down.', "breakdownFilter")
    if len(properties) == 1:
        breakdown_value: exp.Expr = b.prop_value(*properties[0])
    elif properties:
        # Several breakdowns group by one text: the values joined, a missing one as the null marker.
        separator = b.param(MULTI_BREAKDOWN_SEPARATOR, "string")
        parts: list[exp.Expr] = []
        for key, kind in properties:
            if parts:
                parts.append(separator)
            marker = b.param(MULTI_BREAKDOWN_NULL, "string")
            parts.append(exp.Coalesce(this=b.prop_value(key, kind), expressions=[marker]))
        breakdown_value = exp.Concat(expressions=parts)
    else:
        breakdown_value = b.d.null_text()

    events = exp.to_table("events").as_("e")
    where = exp.and_(*conditions)
    person = exp.column("person_id", table="e")
    if window_days:
        day = b.d.local_day(b.d.local_time(e_ts, b.param(ctx.timezone, "string")))
        inner = (
            exp.select(
                exp.alias_(person, "person_id"),
                exp.alias_(day, "day"),
                exp.alias_(breakdown_value, "breakdown_value"),
            )
            .distinct()
            .from_(events)
            .where(where)
        )
        # Each active day counts towards the buckets of the `window_days` days that follow it.
        target = b.d.shifted_day(exp.column("day", table="a"), exp.column("o", table="offsets"))
        outer_value = b.d.count_distinct(exp.column("person_id", table="a"))
        outer_breakdown = exp.column("breakdown_value", table="a")
        wrap = lambda inner_query: (  # noqa: E731
            exp.select(
                exp.alias_(target, "bucket"),
                exp.alias_(outer_breakdown, "breakdown_value"),
                exp.alias_(outer_value, "value"),
            )
            .from_(inner_query.subquery("a"))
            .join(b.d.day_offsets(window_days), join_type="cross")
            .group_by(target, outer_breakdown)
        )
    elif first_time:
        inner = (
            exp.select(exp.alias_(person, "person_id"), exp.alias_(exp.Min(this=e_ts), "first_ts"))
            .from_(events)
            .where(where)
            .group_by(person)
        )
        first_ts = exp.column("first_ts", table="a")
        first_bucket: exp.Expr = (
            exp.Literal.string("")
            if ctx.total_value
            else b.d.bucket_start(
                b.d.local_time(first_ts, b.param(ctx.timezone, "string")), ctx.interval, ctx.week_start
            )
        )
        in_range = exp.and_(
            exp.GTE(this=first_ts, expression=b.param(lower, "datetime")),
            exp.LTE(this=first_ts, expression=b.param(ctx.date_to, "datetime")),
        )
        wrap = lambda inner_query: (  # noqa: E731
            exp.select(
                exp.alias_(first_bucket, "bucket"),
                exp.alias_(b.d.null_text(), "breakdown_value"),
                exp.alias_(exp.Count(this=exp.Star()), "value"),
            )
            .from_(inner_query.subquery("a"))
            .where(in_range)
            .group_by(first_bucket)
        )
    elif ctx.first_seen and math == "dau":
        # Cumulative graphs: each person once, in the first bucket they appear in.
        inner = (
            exp.select(
                exp.alias_(exp.Min(this=bucket), "bucket"), exp.alias_(breakdown_value, "breakdown_value")
            )
            .from_(events)
            .where(where)
            .group_by(person, breakdown_value)
        )
        wrap = lambda inner_query: (  # noqa: E731
            exp.select("bucket", "breakdown_value", exp.alias_(exp.Count(this=exp.Star()), "value"))
            .from_(inner_query.subquery("firsts"))
            .group_by("bucket", "breakdown_value")
        )
    elif math in COUNT_PER_ACTOR_MATH:
        inner = (
            exp.select(
                exp.alias_(bucket, "bucket"),
                exp.alias_(breakdown_value, "breakdown_value"),
                exp.alias_(exp.Count(this=exp.Star()), "events"),
            )
            .from_(events)
            .where(where)
            .group_by(bucket, breakdown_value, person)
        )
        name, quantile = COUNT_PER_ACTOR_MATH[math]
        per_actor = b.d.aggregate(name, exp.column("events", table="a"), quantile)
        wrap = lambda inner_query: (  # noqa: E731
            exp.select(
                exp.column("bucket", table="a"),
                exp.column("breakdown_value", table="a"),
                exp.alias_(per_actor, "value"),
            )
            .from_(inner_query.subquery("a"))
            .group_by(exp.column("bucket", table="a"), exp.column("breakdown_value", table="a"))
        )
    else:
        inner = (
            exp.select(
                exp.alias_(bucket, "bucket"),
                exp.alias_(breakdown_value, "breakdown_value"),
                exp.alias_(_aggregate(b, series), "value"),
            )
            .from_(events)
            .where(where)
            .group_by(bucket, breakdown_value)
        )
        wrap = None
    if b.needs_persons:
        persons = (
            exp.select("id", "properties")
            .from_("persons_latest")
            .where(exp.column("project_id").eq(b.param(ctx.project_id, "int")))
        )
        inner = inner.join(
            persons.subquery("p"),
            on=exp.column("id", table="p").eq(person),
            join_type="left",
        )
    query = wrap(inner) if wrap is not None else inner
    return SeriesSQL(sql=b.d.render(query), params=b.params)


def compile_earliest(project_id: int, dialect: str) -> SeriesSQL:
    """The project's first event time, for `date_from: "all"`."""
    d = DIALECTS[dialect]
    params = {"p0": d.encode(project_id, "int")}
    query = (
        exp.select(exp.alias_(exp.Min(this=exp.column("timestamp")), "earliest"))
        .from_("events")
        .where(exp.column("project_id").eq(d.placeholder("p0", "int")))
    )
    return SeriesSQL(sql=d.render(query), params=params)
