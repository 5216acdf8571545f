"""Plan -> SQL: the shape of every query, shared by the engines; each dialect spells functions.

Every user value becomes a bound parameter; the only literals pasted into SQL text are our own
(regular expressions that guard casts, booleans). The text is then normalised by sqlglot in the
engine's own dialect, which also proves it parses.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import sqlglot

from hedgerow.query.plan import (
    CohortMembers,
    EventMatch,
    EventSequence,
    Except,
    FirstTimeEvent,
    Intersect,
    Nobody,
    PerformedEvent,
    PersonProperties,
    PersonSetPlan,
    Plan,
    PropertyMatch,
    RegularEvents,
    StepMatch,
    Union,
    Window,
)

NUMERIC_PATTERN = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"
_DAY = r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_TIME = r"[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
DATE_NAIVE_PATTERN = f"^{_DAY}({_TIME})?$"
DATE_OFFSET_PATTERN = f"^{_DAY}{_TIME}(Z|[+-][0-9]{{2}}:[0-9]{{2}})$"
UNIX_SECONDS_PATTERN = r"^-?[0-9]{1,12}$"
SQL_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "="}


@dataclass(frozen=True)
class CompiledSQL:
    sql: str
    params: dict[str, Any]


class Dialect(ABC):
    """What differs between engines: placeholders, JSON access, string and date functions."""

    name: str
    sqlglot_dialect: str
    false: str = "FALSE"

    @abstractmethod
    def placeholder(self, name: str, value: Any) -> str: ...

    @abstractmethod
    def json_text(self, column: str, key_param: str, key: str) -> tuple[str, Any]:
        """SQL for a property read as text (NULL when missing or null) and the key's bound value."""

    @abstractmethod
    def to_text(self, expr: str) -> str: ...

    @abstractmethod
    def epoch_us(self, expr: str) -> str: ...

    @abstractmethod
    def instant(self, micros: str) -> str:
        """A timestamp from UTC microseconds, comparable with `events.timestamp` as is (so the
        engine can filter the scan on the column instead of computing per row)."""

    @abstractmethod
    def contains(self, haystack: str, needle: str) -> str: ...

    @abstractmethod
    def icontains(self, haystack: str, lowered_needle: str) -> str: ...

    @abstractmethod
    def regex(self, expr: str, pattern: str) -> str: ...

    @abstractmethod
    def number(self, text: str) -> str: ...

    @abstractmethod
    def date_us(self, text: str) -> str: ...

    @abstractmethod
    def set_op(self, kind: str) -> str: ...

    @staticmethod
    def literal(text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Compiler:
    def __init__(self, dialect: Dialect, project_id: int):
        self.dialect = dialect
        self.params: dict[str, Any] = {}
        self.project = self.bind(project_id)

    def bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return self.dialect.placeholder(name, value)

    # --- properties -------------------------------------------------------------------------
    def prop_text(self, column: str, key: str) -> str:
        name = f"p{len(self.params)}"
        sql, bound = self.dialect.json_text(column, self.dialect.placeholder(name, ""), key)
        self.params[name] = bound
        return sql

    def prop_condition(self, column: str, match: PropertyMatch) -> str:
        d = self.dialect
        text = self.prop_text(column, match.key)
        test = match.test
        if test == "in":
            cond = f"{text} IN ({', '.join(self.bind(v) for v in match.values)})" if match.values else d.false
        elif test == "contains":
            parts = [d.icontains(text, self.bind(v)) for v in match.values]
            cond = " OR ".join(parts) if parts else d.false
        elif test == "regex":
            parts = [d.regex(text, self.bind(v)) for v in match.values]
            cond = " OR ".join(parts) if parts else d.false
        elif test == "num_cmp":
            cond = f"{d.number(text)} {SQL_OPS[match.op]} {self.bind(float(match.values[0]))}"
        elif test == "str_cmp":
            cond = f"{text} {SQL_OPS[match.op]} {self.bind(str(match.values[0]))}"
        elif test == "is_set":
            cond = f"{text} IS NOT NULL"
        elif test in ("num_between", "num_outside"):
            lo, hi, num = self.bind(float(match.values[0])), self.bind(float(match.values[1])), d.number(text)
            cond = (
                f"{num} >= {lo} AND {num} <= {hi}"
                if test == "num_between"
                else f"({num} < {lo} OR {num} > {hi})"
            )
        else:
            cond = self._date_condition(d.date_us(text), match)
        wrapped = f"COALESCE(({cond}), {d.false})"
        return f"NOT {wrapped}" if match.negated else wrapped

    def _date_condition(self, value: str, match: PropertyMatch) -> str:
        if match.op == "range":
            start, end = self.bind(int(match.values[0])), self.bind(int(match.values[1]))
            return f"{value} >= {start} AND {value} < {end}"
        return f"{value} {SQL_OPS[match.op]} {self.bind(int(match.values[0]))}"

    # --- events -------------------------------------------------------------------------------
    def step_condition(self, step: StepMatch) -> str:
        d = self.dialect
        parts = []
        if step.event is not None:
            parts.append(f"e.event = {self.bind(step.event)}")
        if step.url is not None:
            url = self.prop_text("e.properties", "$current_url")
            bound = self.bind(step.url)
            if step.url_matching == "exact":
                parts.append(f"COALESCE({url} = {bound}, {d.false})")
            elif step.url_matching == "regex":
                parts.append(f"COALESCE({d.regex(url, bound)}, {d.false})")
            else:
                parts.append(f"COALESCE({d.contains(url, bound)}, {d.false})")
        parts.extend(self.prop_condition("e.properties", p) for p in step.properties)
        return "(" + " AND ".join(parts) + ")" if parts else "TRUE"

    def events(self, match: EventMatch, window: Window | None) -> str:
        """(person_id, ts, uuid) of matching events, attributed to the distinct id's owner now.

        `events` holds one row per uuid (the store's reader contract), so counts are COUNT(*).
        """
        d = self.dialect
        ts = d.epoch_us("e.timestamp")
        where = [f"e.project_id = {self.project}"]
        steps = [self.step_condition(s) for s in match.steps]
        where.append("(" + " OR ".join(steps) + ")")
        where.extend(self.prop_condition("e.properties", p) for p in match.filters)
        if window is not None:
            if window.start_us is not None:
                where.append(f"e.timestamp >= {d.instant(self.bind(window.start_us))}")
            where.append(f"e.timestamp <= {d.instant(self.bind(window.end_us))}")
        return (
            f"SELECT {d.to_text('pdi.person_id')} AS person_id, {ts} AS ts, e.uuid AS uuid "
            "FROM events AS e INNER JOIN person_distinct_ids_latest AS pdi "
            "ON pdi.project_id = e.project_id AND pdi.distinct_id = e.distinct_id "
            f"WHERE {' AND '.join(where)}"
        )

    # --- leaves and set operations -----------------------------------------------------------
    def plan(self, node: Plan) -> str:
        d = self.dialect
        if isinstance(node, Union | Intersect | Except):
            parts = [node.keep, node.remove] if isinstance(node, Except) else list(node.parts)
            kind = {Union: "UNION", Intersect: "INTERSECT", Except: "EXCEPT"}[type(node)]
            joined = f" {d.set_op(kind)} ".join(f"SELECT person_id FROM ({self.plan(p)}) AS s" for p in parts)
            return joined
        if isinstance(node, PersonProperties):
            cond = self.prop_condition("properties", node.match)
            return (
                f"SELECT {d.to_text('id')} AS person_id FROM persons_latest "
                f"WHERE project_id = {self.project} AND {cond}"
            )
        if isinstance(node, PerformedEvent):
            source = self.events(node.events, node.window)
            if not node.count_op:
                return f"SELECT DISTINCT person_id FROM ({source}) AS ev"
            having = f"COUNT(*) {SQL_OPS[node.count_op]} {self.bind(node.count)}"
            return f"SELECT person_id FROM ({source}) AS ev GROUP BY person_id HAVING {having}"
        if isinstance(node, FirstTimeEvent):
            source = self.events(node.events, None)
            start = (
                f"MIN(ts) >= {self.bind(node.window.start_us)} AND "
                if node.window.start_us is not None
                else ""
            )
            return (
                f"SELECT person_id FROM ({source}) AS ev GROUP BY person_id "
                f"HAVING {start}MIN(ts) <= {self.bind(node.window.end_us)}"
            )
        if isinstance(node, EventSequence):
            first = self.events(node.first, node.window)
            then = self.events(node.then, node.window)
            within = self.bind(node.within_us)
            return (
                f"SELECT DISTINCT a.person_id AS person_id FROM ({first}) AS a INNER JOIN ({then}) AS b "
                f"ON a.person_id = b.person_id WHERE b.ts > a.ts AND b.ts <= a.ts + {within}"
            )
        if isinstance(node, RegularEvents):
            return self._regular(node)
        if isinstance(node, CohortMembers):
            return self._members(node)
        assert isinstance(node, Nobody)
        return f"SELECT {d.to_text('id')} AS person_id FROM persons_latest WHERE {d.false}"

    def _regular(self, node: RegularEvents) -> str:
        bounds = node.boundaries_us
        source = self.events(node.events, Window(bounds[0], bounds[-1]))
        branches = " ".join(f"WHEN ts < {self.bind(b)} THEN {i}" for i, b in enumerate(bounds[1:-1]))
        period = f"CASE {branches} ELSE {len(bounds) - 2} END" if branches else "0"
        having = f"COUNT(*) {SQL_OPS[node.count_op]} {self.bind(node.count)}"
        return (
            f"SELECT person_id FROM (SELECT person_id, {period} AS period FROM ({source}) AS ev "
            f"GROUP BY person_id, {period} HAVING {having}) AS periods "
            f"GROUP BY person_id HAVING COUNT(*) >= {self.bind(node.min_periods)}"
        )

    def _members(self, node: CohortMembers) -> str:
        d = self.dialect
        if node.is_static:
            return (
                f"SELECT {d.to_text('person_id')} AS person_id FROM static_cohort_people_latest "
                f"WHERE project_id = {self.project} AND cohort_id = {self.bind(node.cohort_id)}"
            )
        if node.version is None:
            return self.plan(Nobody())
        return (
            f"SELECT {d.to_text('person_id')} AS person_id FROM cohort_members "
            f"WHERE project_id = {self.project} AND cohort_id = {self.bind(node.cohort_id)} "
            f"AND version = {self.bind(node.version)}"
        )


def compile_plan(plan: PersonSetPlan, dialect: Dialect, *, pretty: bool = True) -> CompiledSQL:
    """The SELECT of distinct member person ids (as text) for `plan`."""
    compiler = Compiler(dialect, plan.project_id)
    body = compiler.plan(plan.root)
    sql = f"SELECT DISTINCT person_id FROM ({body}) AS members"
    if pretty:
        sql = sqlglot.transpile(
            sql, read=dialect.sqlglot_dialect, write=dialect.sqlglot_dialect, pretty=True
        )[0]
    return CompiledSQL(sql=sql, params=compiler.params)


def json_path_key(key: str) -> str:
    """A JSON path selecting one top-level key, quoted so `$`, dots and quotes are literal."""
    return "$." + json.dumps(key)


def dialect_named(name: str) -> Dialect:
    """The dialect an analytics store names (`store.dialect`)."""
    if name == "duckdb":
        from hedgerow.query.dialects.duckdb import DIALECT as DUCKDB

        return DUCKDB
    if name == "clickhouse":
        from hedgerow.query.dialects.clickhouse import DIALECT as CLICKHOUSE

        return CLICKHOUSE
    raise ValueError(f"no query dialect named {name!r}")
