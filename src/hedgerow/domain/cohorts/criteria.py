"""What a cohort's criteria refer to, checked against the database: other cohorts and cohort types.

`query/filters.py` validates the shape of a tree; this module answers the questions that need
other rows: does a referenced cohort exist in this project, would saving form a loop, and which
`cohort_type` do the criteria call for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hedgerow.domain.cohorts.models import Cohort
from hedgerow.errors import InvalidInput
from hedgerow.query.filters import (
    PROPERTY_OPERATORS,
    BehavioralFilter,
    CohortFilter,
    FilterGroup,
    PersonFilter,
    groups_to_properties,
    has_criteria,
    iter_leaves,
    parse_stored_filters,
    referenced_cohort_ids,
)

ANALYTICAL_KINDS = frozenset(
    {
        "performed_event_first_time",
        "performed_event_regularly",
        "performed_event_sequence",
        "stopped_performing_event",
        "restarted_performing_event",
    }
)
REALTIME_KINDS = frozenset({"performed_event", "performed_event_multiple"})
_TYPE_RANK = {"person_property": 0, "behavioral": 1, "analytical": 2}


@dataclass(frozen=True)
class Definition:
    """The parts of a cohort its type and references depend on."""

    is_static: bool
    query: dict[str, Any] | None
    filters: dict[str, Any] | None
    groups: list[Any]


def definition_of(cohort: Cohort) -> Definition:
    return Definition(
        is_static=cohort.is_static, query=cohort.query, filters=cohort.filters, groups=cohort.groups or []
    )


def criteria_of(definition: Definition) -> FilterGroup | None:
    """The criteria tree a cohort is evaluated with: `filters`, else its legacy `groups` converted."""
    if has_criteria(definition.filters):
        try:
            return parse_stored_filters(definition.filters)
        except ValueError:
            # Saved before today's rules (or written by hand): treat as no usable criteria.
            return None
    legacy = groups_to_properties(definition.groups)
    if legacy.get("values"):
        try:
            return FilterGroup.model_validate(legacy)
        except ValueError:
            return None
    return None


def _project_cohorts(session: Session, project_id: int) -> dict[int, Cohort]:
    return {c.id: c for c in session.scalars(select(Cohort).where(Cohort.project_id == project_id))}


def check_references(
    session: Session, *, project_id: int, cohort_id: int, criteria: FilterGroup | None
) -> None:
    """On update, as PostHog does: refuse references to cohorts that are not in this project, and loops.

    A soft-deleted cohort still exists (it can be retrieved and restored), so referencing it is
    allowed. Both refusals are raised while saving, hence without an `attr`.
    """
    direct = referenced_cohort_ids(criteria)
    if not direct:
        return
    cohorts = _project_cohorts(session, project_id)
    for ref in direct:
        if ref not in cohorts:
            raise InvalidInput("Invalid Cohort ID in filter")
    # Walk what the referenced cohorts reference; reaching the cohort being saved is a loop.
    # A diamond (C->A, C->B->A) reaches A twice without coming back, which is fine.
    pending, seen = list(direct), set[int]()
    while pending:
        current = pending.pop()
        if current == cohort_id:
            raise InvalidInput("Cohorts cannot reference other cohorts in a loop.")
        if current in seen or current not in cohorts:
            continue
        seen.add(current)
        pending.extend(referenced_cohort_ids(criteria_of(definition_of(cohorts[current]))))


def _leaf_type(
    leaf: PersonFilter | BehavioralFilter | CohortFilter,
    cohorts: dict[int, Cohort],
    visiting: frozenset[int],
) -> str | None:
    if isinstance(leaf, PersonFilter):
        return "person_property"
    if isinstance(leaf, BehavioralFilter):
        return "analytical" if leaf.value in ANALYTICAL_KINDS else "behavioral"
    target = cohorts.get(leaf.value)
    if target is None:
        raise InvalidInput(f"Referenced cohort {leaf.value} not found", attr="cohort_type")
    if target.id in visiting:
        raise InvalidInput("Circular cohort reference detected", attr="cohort_type")
    if target.is_static:
        # A fixed member list costs what a person-property check costs.
        return "person_property"
    return _required_type(definition_of(target), cohorts, visiting | {target.id})


def _required_type(
    definition: Definition, cohorts: dict[int, Cohort], visiting: frozenset[int]
) -> str | None:
    if definition.is_static:
        return "static"
    if definition.query:
        return "analytical"
    criteria = criteria_of(definition)
    if criteria is None:
        return None
    found: str | None = None
    for leaf in iter_leaves(criteria):
        kind = _leaf_type(leaf, cohorts, visiting)
        if kind is None:
            return None
        if found is None or _TYPE_RANK[kind] > _TYPE_RANK[found]:
            found = kind
    return found


def check_cohort_type(
    session: Session, *, project_id: int, cohort_id: int | None, given: str, definition: Definition
) -> None:
    """A client-sent `cohort_type` must be the one the definition calls for (PostHog's rule)."""
    cohorts = _project_cohorts(session, project_id)
    visiting = frozenset({cohort_id}) if cohort_id is not None else frozenset()
    required = _required_type(definition, cohorts, visiting)
    if required is None:
        raise InvalidInput("Invalid cohort type for the given filters", attr="cohort_type")
    if given != required:
        raise InvalidInput(
            f"Cohort type '{given}' does not match the filters. Expected type: '{required}'",
            attr="cohort_type",
        )


def realtime_type(session: Session, *, project_id: int, criteria: FilterGroup | None) -> str | None:
    """What a dynamic cohort's `cohort_type` becomes: `realtime` when every leaf can be evaluated
    incrementally, else null (PostHog overrides whatever the client sent)."""
    if criteria is None:
        return None
    cohorts: dict[int, Cohort] | None = None
    for leaf in iter_leaves(criteria):
        if isinstance(leaf, BehavioralFilter) and leaf.value not in REALTIME_KINDS:
            return None
        if isinstance(leaf, PersonFilter) and leaf.operator not in PROPERTY_OPERATORS:
            return None
        if isinstance(leaf, CohortFilter):
            cohorts = cohorts if cohorts is not None else _project_cohorts(session, project_id)
            target = cohorts.get(leaf.value)
            if target is None or target.cohort_type != "realtime":
                return None
    return "realtime"


def dependents_of(session: Session, *, project_id: int, cohort_id: int) -> list[int]:
    """Cohorts whose criteria reach `cohort_id`, directly or through others, nearest first."""
    cohorts = _project_cohorts(session, project_id)
    refs = {
        cid: set(referenced_cohort_ids(criteria_of(definition_of(c))))
        for cid, c in cohorts.items()
        if not c.deleted and not c.is_static
    }
    ordered: list[int] = []
    frontier = [cohort_id]
    while frontier:
        current = frontier.pop(0)
        for cid, targets in refs.items():
            if current in targets and cid not in ordered and cid != cohort_id:
                ordered.append(cid)
                frontier.append(cid)
    return ordered


def behavioral_cohort_ids(session: Session, *, project_id: int) -> set[int]:
    """Cohorts with behavioral criteria, and those reaching one through cohort references."""
    cohorts = _project_cohorts(session, project_id)
    trees = {cid: criteria_of(definition_of(c)) for cid, c in cohorts.items()}
    found = {
        cid
        for cid, tree in trees.items()
        if tree is not None and any(isinstance(leaf, BehavioralFilter) for leaf in iter_leaves(tree))
    }
    refs = {cid: set(referenced_cohort_ids(tree)) for cid, tree in trees.items()}
    changed = True
    while changed:
        changed = False
        for cid, targets in refs.items():
            if cid not in found and targets & found:
                found.add(cid)
                changed = True
    return found
