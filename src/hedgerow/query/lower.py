"""Cohort criteria (the stored filter JSON) + resolved context -> a person-set plan.

Services resolve what the criteria refer to (other cohorts' current versions and static flags,
actions' steps, the project's timezone, `now`) and pass it in; nothing here does I/O.

Negation follows PostHog's cohort engine: every node evaluates to (set, negated). An AND group
intersects its positive children and subtracts the negated ones; an OR of positives is a union;
an all-negated group flips; an OR mixing both is rewritten by De Morgan. A negated result at the
top has no universe to subtract from and is an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hedgerow.query.behavioral import lower_behavioral
from hedgerow.query.plan import (
    CohortMembers,
    Except,
    Intersect,
    LoweringError,
    Nobody,
    PersonProperties,
    PersonSetPlan,
    Plan,
    Union,
)
from hedgerow.query.properties import filter_match

NO_PROPERTIES = "Cohort has no properties defined"


@dataclass(frozen=True)
class CohortRef:
    """What a cohort leaf needs to know about the cohort it names."""

    is_static: bool
    version: int | None  # the calculated version whose members count; None = never calculated


@dataclass(frozen=True)
class LoweringContext:
    project_id: int
    now: datetime
    timezone: str = "UTC"
    cohorts: Mapping[int, CohortRef] = field(default_factory=dict)
    actions: Mapping[int, Sequence[Mapping[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            object.__setattr__(self, "now", self.now.replace(tzinfo=UTC))


def _legacy_group(group: Mapping[str, Any]) -> dict[str, Any]:
    values: list[Any] = []
    props = group.get("properties")
    if isinstance(props, dict):
        props = [{"key": k, "value": v, "type": "person"} for k, v in props.items()]
    for prop in props or []:
        if isinstance(prop, dict):
            kind = prop.get("type")
            values.append({**prop, "type": "person"} if kind in (None, "event") else prop)
    target = group.get("action_id") or group.get("event_id")
    if target is not None:
        count = group.get("count")
        values.append(
            {
                "type": "behavioral",
                "key": target,
                "event_type": "actions" if group.get("action_id") else "events",
                "value": "performed_event_multiple" if count and int(count) > 0 else "performed_event",
                "time_interval": "day",
                "time_value": group.get("days") or 365,
                "operator": group.get("count_operator"),
                "operator_value": count,
            }
        )
    return {"type": "AND", "values": values}


def criteria_tree(filters: Mapping[str, Any] | None, groups: Sequence[Any] | None = None) -> Any:
    """The criteria group of stored filters (or of legacy `groups`); None when there is none."""
    tree = (filters or {}).get("properties") if filters else None
    if isinstance(tree, dict) and tree.get("values"):
        return tree
    if groups:
        return {"type": "OR", "values": [_legacy_group(g) for g in groups if isinstance(g, dict)]}
    return None


class _Lowerer:
    def __init__(self, ctx: LoweringContext):
        self.ctx = ctx

    def node(self, node: Any) -> tuple[Plan, bool]:
        if not isinstance(node, dict):
            raise LoweringError("Invalid cohort criteria")
        if node.get("type") in ("AND", "OR") and "values" in node:
            return self.group(node)
        return self.leaf(node), bool(node.get("negation"))

    def group(self, node: Mapping[str, Any]) -> tuple[Plan, bool]:
        children = [self.node(child) for child in node.get("values") or []]
        if not children:
            raise LoweringError("Cohort criteria contain an empty group")
        positives = [plan for plan, negated in children if not negated]
        negatives = [plan for plan, negated in children if negated]
        if node["type"] == "OR":
            if not negatives:
                return _union(positives), False
            if not positives:
                return _intersect(negatives), True
            # De Morgan: A or not B == not (B except A).
            return _except(_intersect(negatives), positives), True
        if not positives:
            return _union(negatives), True
        return _except(_intersect(positives), negatives), False

    def leaf(self, leaf: Mapping[str, Any]) -> Plan:
        kind = leaf.get("type")
        ctx = self.ctx
        if kind == "behavioral":
            return lower_behavioral(leaf, now=ctx.now, timezone=ctx.timezone, actions=ctx.actions)
        if kind in ("cohort", "static-cohort", "dynamic-cohort", "precalculated-cohort"):
            return self.cohort(leaf)
        if kind == "person_metadata":
            raise LoweringError("person_metadata criteria are not supported")
        # A missing or event type on a cohort criterion means a person property (as in PostHog).
        return PersonProperties(filter_match(leaf, now=ctx.now, timezone=ctx.timezone))

    def cohort(self, leaf: Mapping[str, Any]) -> Plan:
        raw = leaf.get("value")
        try:
            cohort_id = int(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise LoweringError(f"Invalid cohort id '{raw}'") from None
        ref = self.ctx.cohorts.get(cohort_id)
        if ref is None:
            return Nobody()
        return CohortMembers(cohort_id=cohort_id, is_static=ref.is_static, version=ref.version)


def _union(parts: list[Plan]) -> Plan:
    return parts[0] if len(parts) == 1 else Union(tuple(parts))


def _intersect(parts: list[Plan]) -> Plan:
    return parts[0] if len(parts) == 1 else Intersect(tuple(parts))


def _except(keep: Plan, removes: list[Plan]) -> Plan:
    return keep if not removes else Except(keep, _union(removes))


def lower(
    filters: Mapping[str, Any] | None, ctx: LoweringContext, *, groups: Sequence[Any] | None = None
) -> PersonSetPlan:
    """The plan for a cohort's criteria; LoweringError(code="no_properties") when there are none."""
    tree = criteria_tree(filters, groups)
    if tree is None:
        raise LoweringError(NO_PROPERTIES, code="no_properties")
    root, negated = _Lowerer(ctx).node(tree)
    if negated:
        raise LoweringError("Top level condition cannot be negated")
    return PersonSetPlan(project_id=ctx.project_id, root=root)
