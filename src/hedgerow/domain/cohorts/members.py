"""Who is in a cohort: manual adds and removals on static cohorts, the persons list, and history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hedgerow.db.types import utcnow
from hedgerow.domain.activity.schemas import Change
from hedgerow.domain.activity.service import log_activity
from hedgerow.domain.cohorts.models import CohortCalculationHistory, CohortPeople
from hedgerow.domain.cohorts.presentation import history_out
from hedgerow.domain.cohorts.schemas import CalculationHistoryOut, CohortPersonOut
from hedgerow.domain.cohorts.service import ACTIVITY_SCOPE, find_cohort
from hedgerow.domain.cohorts.static import (
    add_members,
    lock_cohort,
    normalise_uuid,
    persons_by_uuid,
    remove_member,
)
from hedgerow.domain.persons.filtering import PropertyFilter, matches_all
from hedgerow.domain.persons.models import Person
from hedgerow.domain.persons.presentation import display_name, ordered_distinct_ids
from hedgerow.domain.persons.service import distinct_ids_by_person
from hedgerow.domain.projects.schemas import Actor, ProjectRef
from hedgerow.errors import InvalidInput, NotFound

MAX_ADD = 1000
MAX_DISTINCT_IDS = 10
_LOOKUP_CHUNK = 5000
_BLANK_CHANGE = [Change(type=ACTIVITY_SCOPE, action="changed", field=None, before=None, after=None)]


class MemberStore(Protocol):
    """The part of the analytics store that holds calculated (dynamic) membership."""

    def cohort_member_ids(
        self, project_id: int, cohort_id: int, version: int, *, limit: int | None = None, offset: int = 0
    ) -> list[str]: ...

    def cohort_members_newest_first(
        self, project_id: int, cohort_id: int, version: int, *, limit: int, offset: int
    ) -> list[str]: ...

    def count_cohort_members(self, project_id: int, cohort_id: int, version: int) -> int: ...


def add_persons(
    session: Session, *, project: ProjectRef, actor: Actor, cohort_id: int, person_ids: Any
) -> None:
    row = find_cohort(session, project_id=project.id, cohort_id=cohort_id, lock=True)
    if not row.is_static:
        raise InvalidInput("Can only add users to static cohorts")
    if not isinstance(person_ids, list):
        raise InvalidInput("person_ids must be a list")
    if not person_ids:
        raise InvalidInput("person_ids cannot be empty")
    if len(person_ids) > MAX_ADD:
        raise InvalidInput("List size exceeds limit")
    # Malformed UUIDs are treated as unknown persons and dropped, like ids of other projects.
    uuids = [u for u in (normalise_uuid(v) for v in person_ids) if u is not None]
    persons = persons_by_uuid(session, project_id=project.id, uuids=uuids)
    if not persons:
        raise InvalidInput("No valid users to add to cohort")
    lock_cohort(session, row.id)
    add_members(session, project_id=project.id, cohort_id=row.id, persons=persons)
    row.is_calculating = False
    row.last_calculation = utcnow()
    row.errors_calculating = 0
    log_activity(
        session,
        project=project,
        user_id=actor.user.id,
        scope=ACTIVITY_SCOPE,
        item_id=str(row.id),
        activity="persons_added_manually",
        name=None,
        changes=_BLANK_CHANGE,
    )


def remove_person(
    session: Session, *, project: ProjectRef, actor: Actor, cohort_id: int, person_id: Any
) -> None:
    row = find_cohort(session, project_id=project.id, cohort_id=cohort_id, lock=True)
    if not row.is_static:
        raise InvalidInput("Can only remove users from static cohorts")
    if not person_id:
        raise InvalidInput("person_id is required")
    if not isinstance(person_id, str):
        raise InvalidInput("person_id must be a string")
    person_uuid = normalise_uuid(person_id)
    if person_uuid is None:
        raise InvalidInput("person_id must be a valid UUID")
    person_pk = persons_by_uuid(session, project_id=project.id, uuids=[person_uuid]).get(person_uuid)
    if person_pk is None:
        raise NotFound("Person with this UUID does not exist in the cohort's team")
    lock_cohort(session, row.id)
    # Removing someone who is not a member is a no-op that still answers success (newest PostHog).
    remove_member(
        session, project_id=project.id, cohort_id=row.id, person_uuid=person_uuid, person_pk=person_pk
    )
    log_activity(
        session,
        project=project,
        user_id=actor.user.id,
        scope=ACTIVITY_SCOPE,
        item_id=str(row.id),
        activity="person_removed_manually",
        name=None,
        changes=_BLANK_CHANGE,
    )


@dataclass(frozen=True)
class HistoryPage:
    count: int
    results: list[CalculationHistoryOut]


def calculation_history(
    session: Session, *, project: ProjectRef, cohort_id: int, limit: int, offset: int
) -> HistoryPage:
    find_cohort(session, project_id=project.id, cohort_id=cohort_id)
    condition = (CohortCalculationHistory.cohort_id == cohort_id) & (
        CohortCalculationHistory.project_id == project.id
    )
    total = session.scalar(select(func.count()).select_from(CohortCalculationHistory).where(condition)) or 0
    rows = session.scalars(
        select(CohortCalculationHistory)
        .where(condition)
        .order_by(CohortCalculationHistory.started_at.desc(), CohortCalculationHistory.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return HistoryPage(count=total, results=[history_out(r) for r in rows])


def _person_out(person: Person, distinct_ids: Sequence[str]) -> CohortPersonOut:
    ids = ordered_distinct_ids(distinct_ids)
    return CohortPersonOut(
        id=person.uuid,
        uuid=person.uuid,
        name=display_name(person.properties, ids, str(person.id)),
        distinct_ids=ids[:MAX_DISTINCT_IDS],
        properties=person.properties,
        created_at=person.created_at,
        is_identified=person.is_identified,
    )


def _present(session: Session, persons: Sequence[Person]) -> list[CohortPersonOut]:
    ids = distinct_ids_by_person(session, [p.id for p in persons])
    return [_person_out(p, ids.get(p.id, [])) for p in persons]


def _persons(session: Session, project_id: int, uuids: Sequence[str]) -> dict[str, Person]:
    """Person rows by UUID, looked up in chunks (SQLite caps bound parameters per statement)."""
    found: dict[str, Person] = {}
    for start in range(0, len(uuids), _LOOKUP_CHUNK):
        chunk = list(uuids[start : start + _LOOKUP_CHUNK])
        rows = session.scalars(select(Person).where(Person.project_id == project_id, Person.uuid.in_(chunk)))
        found.update({p.uuid: p for p in rows})
    return found


def _search_matches(person: Person, distinct_ids: Sequence[str], needle: str) -> bool:
    if person.uuid == needle:
        return True
    haystack = [str(v) for v in person.properties.values() if isinstance(v, str | int | float)]
    return any(needle in text.lower() for text in [*haystack, *distinct_ids])


def cohort_persons(
    session: Session,
    *,
    project: ProjectRef,
    cohort_id: int,
    store: MemberStore | None,
    limit: int,
    offset: int,
    search: str | None = None,
    properties: Sequence[PropertyFilter] = (),
) -> list[CohortPersonOut]:
    """One page of members, newest person first (PostHog's order): static ones from the member
    list, dynamic ones from the calculation the cohort last completed (none before its first)."""
    row = find_cohort(session, project_id=project.id, cohort_id=cohort_id)
    if row.is_static:
        query = (
            select(Person)
            .join(CohortPeople, CohortPeople.person_id == Person.id)
            .where(CohortPeople.cohort_id == row.id, Person.project_id == project.id)
            .order_by(Person.created_at.desc(), Person.id.desc())
        )
        if not (search or properties):
            return _present(session, list(session.scalars(query.limit(limit).offset(offset))))
        candidates = list(session.scalars(query))
    else:
        if row.version is None or store is None:
            return []
        if not (search or properties):
            uuids = store.cohort_members_newest_first(
                project.id, row.id, row.version, limit=limit, offset=offset
            )
            by_uuid = _persons(session, project.id, uuids)
            return _present(session, [by_uuid[u] for u in uuids if u in by_uuid])
        everyone = _persons(session, project.id, store.cohort_member_ids(project.id, row.id, row.version))
        candidates = sorted(everyone.values(), key=lambda p: (p.created_at, p.uuid), reverse=True)
    ids = distinct_ids_by_person(session, [p.id for p in candidates])
    needle = (search or "").strip().lower()
    kept = [
        p
        for p in candidates
        if matches_all(p.properties, properties)
        and (not needle or _search_matches(p, ids.get(p.id, []), needle))
    ]
    return [_person_out(p, ids.get(p.id, [])) for p in kept[offset : offset + limit]]
