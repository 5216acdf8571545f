"""How trends SQL is spelled for ClickHouse: `{name:Type}` parameters, toTimeZone, JSONExtract*."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlglot
from sqlglot import exp

from hedgerow.query.dialects.clickhouse import ClickHouseDialect

NAME = "clickhouse"

_TYPES = {
    "string": "String",
    "int": "Int64",
    "datetime": "DateTime64(6, 'UTC')",
    "float": "Float64",
}


def placeholder(name: str, kind: str) -> exp.Expr:
    return exp.Placeholder(
        this=exp.Var(this=name), kind=exp.DataType.build(_TYPES[kind], dialect="clickhouse")
    )


def encode(value: Any, kind: str) -> Any:
    # The store renders values as parameter text; datetimes go as aware UTC.
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return value


def _fn(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def local_time(timestamp: exp.Expr, tz: exp.Expr) -> exp.Expr:
    return _fn("toTimeZone", timestamp, tz)


def bucket_start(local: exp.Expr, interval: str, week_start: int) -> exp.Expr:
    if interval == "week":
        # Mode 0 starts weeks on Sunday, mode 1 on Monday (PostHog's week_start_day 0/1).
        start = _fn("toStartOfWeek", local, exp.Literal.number(1 if week_start == 1 else 0))
        text = _fn("formatDateTime", _fn("toDate", start), exp.Literal.string("%Y-%m-%d 00:00:00"))
        return text
    if interval == "month":
        start = _fn("toStartOfMonth", local)
        return _fn("formatDateTime", _fn("toDate", start), exp.Literal.string("%Y-%m-%d 00:00:00"))
    name = {"day": "toStartOfDay", "hour": "toStartOfHour", "minute": "toStartOfMinute"}[interval]
    return _fn("formatDateTime", _fn(name, local), exp.Literal.string("%Y-%m-%d %H:%i:%S"))


def json_path(key: str) -> str:
    return key


def json_value(properties: exp.Expr, path: exp.Expr) -> exp.Expr:
    """The property as text; NULL when missing or JSON null (numbers and booleans as their JSON text)."""
    kind = _fn("JSONType", properties, path)
    return _fn(
        "multiIf",
        exp.EQ(this=kind, expression=exp.Literal.string("String")),
        _fn("JSONExtractString", properties, path),
        exp.EQ(this=kind, expression=exp.Literal.string("Null")),
        exp.Null(),
        _fn("JSONExtractRaw", properties, path),
    )


def to_number(value: exp.Expr) -> exp.Expr:
    return _fn("toFloat64OrNull", value)


# Date-valued properties are read exactly as cohort criteria read them: one spelling, shared.
_DATE_VALUE = "date_value__"
_DATE_US = sqlglot.parse_one(ClickHouseDialect().date_us(_DATE_VALUE), read="clickhouse")


def date_us(value: exp.Expr) -> exp.Expr:
    """A property's text as epoch microseconds (ISO dates and date-times, unix seconds); else NULL."""
    return _DATE_US.transform(
        lambda node: value.copy() if isinstance(node, exp.Column) and node.name == _DATE_VALUE else node
    )


def contains(value: exp.Expr, needle: exp.Expr) -> exp.Expr:
    return exp.GT(this=_fn("position", value, needle), expression=exp.Literal.number(0))


def icontains(value: exp.Expr, needle: exp.Expr) -> exp.Expr:
    return exp.GT(this=_fn("positionCaseInsensitiveUTF8", value, needle), expression=exp.Literal.number(0))


def regex(value: exp.Expr, pattern: exp.Expr) -> exp.Expr:
    return _fn("match", value, pattern)


def count_distinct(value: exp.Expr) -> exp.Expr:
    return _fn("uniqExact", value)


def null_text() -> exp.Expr:
    return exp.Cast(this=exp.Null(), to=exp.DataType.build("Nullable(String)", dialect="clickhouse"))


def aggregate(name: str, value: exp.Expr, quantile: float | None) -> exp.Expr:
    if quantile is not None:
        # Linear interpolation over the sorted values, as DuckDB's quantile_cont does, so both
        # engines give the same numbers (quantileExactInclusive is missing from some builds).
        values = f"arraySort(groupArray({value.sql(dialect='clickhouse')}))"
        pos = f"({quantile} * (length(a) - 1))"
        low = f"a[toUInt64(floor({pos})) + 1]"
        high = f"a[toUInt64(least(toFloat64(floor({pos}) + 1), toFloat64(length(a) - 1))) + 1]"
        pick = f"if(length(a) = 0, NULL, {low} + ({pos} - floor({pos})) * ({high} - {low}))"
        # arrayMap over a one-element array binds the sorted values to `a` once.
        text = f"arrayElement(arrayMap(a -> {pick}, [{values}]), 1)"
        return sqlglot.parse_one(text, read="clickhouse")
    return _fn(name, value)


def local_day(local: exp.Expr) -> exp.Expr:
    return _fn("toDate", local)


def day_offsets(count: int) -> exp.Expr:
    """A subquery of integers 0..count-1 in column `o`."""
    select = sqlglot.parse_one(f"SELECT number AS o FROM numbers({int(count)})", read="clickhouse")
    assert isinstance(select, exp.Select)
    return select.subquery("offsets")


def shifted_day(day: exp.Expr, offset: exp.Expr) -> exp.Expr:
    return _fn("formatDateTime", _fn("addDays", day, offset), exp.Literal.string("%Y-%m-%d 00:00:00"))


def render(query: exp.Expr) -> str:
    return query.sql(dialect="clickhouse")
