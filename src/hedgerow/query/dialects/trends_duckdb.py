"""How trends SQL is spelled for DuckDB: `$name` parameters, ICU time zones, json_extract_string."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlglot
from sqlglot import exp

from hedgerow.query.dialects.duckdb import DuckDBDialect

NAME = "duckdb"


def placeholder(name: str, kind: str) -> exp.Expr:
    return exp.Placeholder(this=name)


def encode(value: Any, kind: str) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        # events.timestamp is TIMESTAMPTZ: naive values would be read in the session's zone.
        return value.replace(tzinfo=UTC)
    return value


def _fn(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def local_time(timestamp: exp.Expr, tz: exp.Expr) -> exp.Expr:
    """A TIMESTAMPTZ as naive wall-clock time in the project's zone."""
    return _fn("timezone", tz, timestamp)


def bucket_start(local: exp.Expr, interval: str, week_start: int) -> exp.Expr:
    if interval == "week":
        # date_trunc('week') starts on Monday; shift by a day when weeks start on Sunday.
        shift = exp.Interval(this=exp.Literal.string("1"), unit=exp.Var(this="DAY"))
        if week_start == 1:
            start = _fn("date_trunc", exp.Literal.string("week"), local)
        else:
            start = exp.Sub(
                this=_fn("date_trunc", exp.Literal.string("week"), exp.Add(this=local, expression=shift)),
                expression=shift,
            )
    else:
        start = _fn("date_trunc", exp.Literal.string(interval), local)
    return _fn("strftime", start, exp.Literal.string("%Y-%m-%d %H:%M:%S"))


def json_path(key: str) -> str:
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def json_value(properties: exp.Expr, path: exp.Expr) -> exp.Expr:
    """The property as text; NULL when missing or JSON null."""
    return _fn("json_extract_string", properties, path)


def to_number(value: exp.Expr) -> exp.Expr:
    return exp.TryCast(this=value, to=exp.DataType.build("DOUBLE"))


# Date-valued properties are read exactly as cohort criteria read them: one spelling, shared.
_DATE_VALUE = "date_value__"
_DATE_US = sqlglot.parse_one(DuckDBDialect().date_us(_DATE_VALUE), read="duckdb")


def date_us(value: exp.Expr) -> exp.Expr:
    """A property's text as epoch microseconds (ISO dates and date-times, unix seconds); else NULL."""
    return _DATE_US.transform(
        lambda node: value.copy() if isinstance(node, exp.Column) and node.name == _DATE_VALUE else node
    )


def contains(value: exp.Expr, needle: exp.Expr) -> exp.Expr:
    return _fn("contains", value, needle)


def icontains(value: exp.Expr, needle: exp.Expr) -> exp.Expr:
    return _fn("contains", exp.Lower(this=value), exp.Lower(this=needle))


def regex(value: exp.Expr, pattern: exp.Expr) -> exp.Expr:
    return _fn("regexp_matches", value, pattern)


def count_distinct(value: exp.Expr) -> exp.Expr:
    return exp.Count(this=exp.Distinct(expressions=[value]))


def null_text() -> exp.Expr:
    return exp.cast(exp.Null(), "text")


def aggregate(name: str, value: exp.Expr, quantile: float | None) -> exp.Expr:
    if quantile is not None:
        return _fn("quantile_cont", value, exp.Literal.number(quantile))
    return _fn(name, value)


def local_day(local: exp.Expr) -> exp.Expr:
    return exp.cast(_fn("date_trunc", exp.Literal.string("day"), local), "date")


def day_offsets(count: int) -> exp.Expr:
    """A subquery of integers 0..count-1 in column `o`."""
    select = sqlglot.parse_one(f"SELECT range AS o FROM range({int(count)})", read="duckdb")
    assert isinstance(select, exp.Select)
    return select.subquery("offsets")


def shifted_day(day: exp.Expr, offset: exp.Expr) -> exp.Expr:
    moved = exp.Add(this=day, expression=exp.cast(offset, "int"))
    return _fn("strftime", moved, exp.Literal.string("%Y-%m-%d 00:00:00"))


def render(query: exp.Expr) -> str:
    return query.sql(dialect="duckdb")
