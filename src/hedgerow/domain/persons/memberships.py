"""The cohorts a person is in (`GET /persons/cohorts/?person_id=`)."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from hedgerow.domain.cohorts.models import Cohort, CohortPeople
from hedgerow.domain.cohorts.presentation import present
from hedgerow.domain.cohorts.schemas import CohortOut
from hedgerow.domain.persons.service import find_person
from hedgerow.domain.projects.schemas import ProjectRef
from hedgerow.errors import InvalidInput


class MembershipStore(Protocol):
    """The part of the analytics store that holds calculated (dynamic) membership."""

    def cohort_versions_with_member(self, project_id: int, person_id: str) -> list[tuple[int, int]]: ...


def person_cohorts(
    session: Session, *, project: ProjectRef, person_id: str | None, store: MembershipStore
) -> list[CohortOut]:
    """Static cohorts from their member lists, dynamic ones from the calculation each last
    completed; deleted cohorts are left out. `person_id`: primary key or UUID."""
    if not person_id:
        raise InvalidInput("This field is required.", code="required", attr="person_id")
    person = find_person(session, project_id=project.id, person_id=person_id.strip())
    static_ids = set(
        session.scalars(
            select(CohortPeople.cohort_id)
            .join(Cohort, Cohort.id == CohortPeople.cohort_id)
            .where(CohortPeople.person_id == person.id, Cohort.is_static.is_(True))
        )
    )
    calculated = store.cohort_versions_with_member(project.id, person.uuid)
    candidates = static_ids | {cohort_id for cohort_id, _ in calculated}
    if not candidates:
        return []
    rows = session.scalars(
        select(Cohort)
        .where(Cohort.project_id == project.id, Cohort.id.in_(candidates), Cohort.deleted.is_(False))
        .order_by(Cohort.id)
    )
    current = set(calculated)

    def is_member(row: Cohort) -> bool:
        return row.id in static_ids if row.is_static else (row.id, row.version) in current

    return present(session, [row for row in rows if is_member(row)])
