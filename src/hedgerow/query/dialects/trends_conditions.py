"""WHERE conditions of trends statements: property filters, cohort membership, action steps.

Dialect-neutral: the dialect module passed in spells functions and parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any

from sqlglot import exp

from hedgerow.query.plan import LoweringError, PropertyMatch
from hedgerow.query.properties import date_match

DATE_OPERATORS = ("is_date_exact", "is_date_before", "is_date_after")
DATE_COMPARE = {"lt": exp.LT, "gt": exp.GT, "eq": exp.EQ}


class TrendsQueryError(ValueError):
    """The query asks for something this engine does not compute; `attr` names the place."""

    def __init__(self, message: str, attr: str | None = None):
        super().__init__(message)
        self.attr = attr


@dataclass(frozen=True)
class CohortSource:
    """Where a cohort's members are: the static table, or dynamic members of `version`."""

    static: bool
    version: int | None = None
    name: str | None = None


class ConditionBuilder:
    """Parameters and WHERE conditions for one statement, spelled by a dialect module."""

    def __init__(
        self,
        dialect: ModuleType,
        *,
        project_id: int,
        cohorts: Mapping[int, CohortSource],
        actions: Mapping[int, Sequence[Mapping[str, Any]]],
        timezone: str,
        now: datetime,
    ):
        self.d = dialect
        self.timezone = timezone
        self.now = now  # relative date values (`-7d`) count back from here
        self.project_id = project_id
        self.cohorts = cohorts
        self.actions = actions
        self.params: dict[str, Any] = {}
        self.needs_persons = False

    def param(self, value: Any, kind: str) -> exp.Expr:
        name = f"p{len(self.params)}"
        self.params[name] = self.d.encode(value, kind)
        return self.d.placeholder(name, kind)

    def prop_value(self, key: str, kind: str) -> exp.Expr:
        if kind == "person":
            self.needs_persons = True
            column = exp.column("properties", table="p")
        else:
            column = exp.column("properties", table="e")
        return self.d.json_value(column, self.param(self.d.json_path(key), "string"))

    def cohort_condition(self, leaf: Mapping[str, Any]) -> exp.Expr:
        cohort_id = int(leaf["value"])
        source = self.cohorts.get(cohort_id)
        if source is None:
            raise TrendsQueryError(f"Cohort with id {cohort_id} does not exist.", "properties")
        project = self.param(self.project_id, "int")
        conditions: list[exp.Expr] = [
            exp.column("project_id").eq(project),
            exp.column("cohort_id").eq(self.param(cohort_id, "int")),
        ]
        if source.static:
            table = "static_cohort_people_latest"
        else:
            table = "cohort_members"
            conditions.append(exp.column("version").eq(self.param(source.version or 0, "int")))
        members = exp.select("person_id").from_(table).where(exp.and_(*conditions))
        inside = exp.In(this=exp.column("person_id", table="e"), query=members.subquery())
        return exp.Not(this=inside) if leaf.get("operator") == "not_in" else inside

    def leaf(self, leaf: Mapping[str, Any]) -> exp.Expr:
        kind = leaf.get("type") or "event"
        if kind == "cohort":
            return self.cohort_condition(leaf)
        if kind not in ("event", "person"):
            raise TrendsQueryError(f'Property filters of type "{kind}" are not supported.', "properties")
        key = leaf.get("key")
        if not isinstance(key, str):
            raise TrendsQueryError("Property filters need a key.", "properties")
        value = self.prop_value(key, kind)
        operator = leaf.get("operator") or "exact"
        raw = leaf.get("value")
        if operator == "is_set":
            return exp.Not(this=exp.Is(this=value, expression=exp.Null()))
        if operator == "is_not_set":
            return exp.Is(this=value, expression=exp.Null())
        missing = exp.Is(this=value, expression=exp.Null())
        if operator in ("exact", "is_not", "in", "not_in"):
            values = raw if isinstance(raw, list) else [raw]
            options = [self.param(as_text(v), "string") for v in values]
            inside = exp.In(this=value, expressions=options)
            return inside if operator in ("exact", "in") else exp.or_(missing, exp.Not(this=inside))
        if operator in ("between", "not_between"):
            bounds = raw if isinstance(raw, list) else []
            try:
                low, high = (float(b) for b in bounds)
            except (TypeError, ValueError):
                raise TrendsQueryError(f'"{operator}" needs two numbers [min, max].', "properties") from None
            number = self.d.to_number(value)
            between = exp.and_(
                exp.GTE(this=number, expression=self.param(low, "float")),
                exp.LTE(this=number, expression=self.param(high, "float")),
            )
            if operator == "between":
                return between
            return exp.or_(missing, exp.Not(this=exp.Paren(this=between)))
        if operator in ("icontains", "not_icontains", "regex", "not_regex"):
            needle = self.param(as_text(raw), "string")
            test = self.d.icontains(value, needle) if "icontains" in operator else self.d.regex(value, needle)
            if operator.startswith("not_"):
                return exp.or_(missing, exp.Not(this=exp.Paren(this=test)))
            return exp.and_(exp.Not(this=missing), test)
        if operator in DATE_OPERATORS:
            try:
                match = date_match(key, operator, raw, now=self.now, timezone=self.timezone)
            except LoweringError as exc:
                raise TrendsQueryError(str(exc), "properties") from None
            return self.date_condition(value, match)
        operator = {"min": "gte", "max": "lte"}.get(operator, operator)
        if operator in ("gt", "gte", "lt", "lte"):
            try:
                number = float(raw)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise TrendsQueryError(f'"{raw}" is not a number.', "properties") from None
            compare = {"gt": exp.GT, "gte": exp.GTE, "lt": exp.LT, "lte": exp.LTE}[operator]
            return compare(this=self.d.to_number(value), expression=self.param(number, "float"))
        raise TrendsQueryError(f'Property operator "{operator}" is not supported.', "properties")

    def date_condition(self, value: exp.Expr, match: PropertyMatch) -> exp.Expr:
        """A date property against the bounds the cohort code resolved; unreadable dates never match."""
        moment = self.d.date_us(value)
        bounds = [self.param(int(v), "int") for v in match.values]
        if match.op == "range":
            return exp.and_(
                exp.GTE(this=moment, expression=bounds[0]), exp.LT(this=moment.copy(), expression=bounds[1])
            )
        return DATE_COMPARE[match.op](this=moment, expression=bounds[0])

    def properties(self, node: Any) -> exp.Expr | None:
        """A list is AND of its items; a group is AND/OR of its values; an empty one matches all."""
        if node is None:
            return None
        if isinstance(node, list):
            parts = [p for p in (self.properties(item) for item in node) if p is not None]
            return exp.and_(*parts) if parts else None
        if not isinstance(node, dict):
            raise TrendsQueryError("Properties are unparsable!", "properties")
        if node.get("type") in ("AND", "OR") and "values" in node:
            parts = [p for p in (self.properties(item) for item in node["values"] or []) if p is not None]
            if not parts:
                return None
            joined = exp.and_(*parts) if node["type"] == "AND" else exp.or_(*parts)
            return exp.Paren(this=joined)
        return self.leaf(node)

    def action(self, action_id: Any) -> exp.Expr:
        """Any one of the action's steps: event name, URL test and event property filters."""
        steps = self.actions.get(int(action_id)) if isinstance(action_id, int) else None
        if not steps:
            return exp.false()  # an unknown or empty action matches nothing
        matches: list[exp.Expr] = []
        for step in steps:
            parts: list[exp.Expr] = []
            if step.get("event"):
                parts.append(exp.column("event", table="e").eq(self.param(str(step["event"]), "string")))
            if step.get("url"):
                url = self.prop_value("$current_url", "event")
                wanted = self.param(str(step["url"]), "string")
                how = step.get("url_matching") or "contains"
                test = (
                    exp.EQ(this=url, expression=wanted)
                    if how == "exact"
                    else self.d.regex(url, wanted)
                    if how == "regex"
                    else self.d.contains(url, wanted)
                )
                parts.append(exp.and_(exp.Not(this=exp.Is(this=url, expression=exp.Null())), test))
            condition = self.properties(step.get("properties") or [])
            if condition is not None:
                parts.append(condition)
            matches.append(exp.Paren(this=exp.and_(*parts)) if parts else exp.true())
        return exp.Paren(this=exp.or_(*matches))


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)
