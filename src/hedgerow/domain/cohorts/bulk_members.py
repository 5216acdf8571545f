"""Adding many static members at once (CSV imports): the ids go through a temporary table and are
matched to persons with one join per chunk, instead of one long `IN (...)` list per lookup."""

from __future__ import annotations

from typing import Literal, cast

from sqlalchemy import (
    Select,
    Table,
    exists,
    insert,
    literal,
    select,
)
from sqlalchemy.orm import Session

from hedgerow.db.staging import stage_values, temporary_values_table
from hedgerow.db.types import UTCDateTime, utcnow
from hedgerow.domain.cohorts.models import CohortPeople
from hedgerow.domain.cohorts.static import members_changed, normalise_uuid
from hedgerow.domain.persons.models import Person, PersonDistinctId

_MEMBERS = cast(Table, CohortPeople.__table__)
IdType = Literal["person_id", "distinct_id", "email"]

# The ids of one chunk, staged so they can be matched with a join.
import_ids = temporary_values_table("cohort_import_ids")


def _matches(project_id: int, id_type: IdType) -> Select[str, int]:
    """(person uuid, person pk) for the staged ids, by the kind of id the file holds.

    Written as `IN (SELECT value ...)` so the database walks the staged ids and looks each one up
    through an index, rather than scanning the project's persons for every chunk.
    """
    staged = select(import_ids.c.value)
    if id_type == "person_id":
        return select(Person.uuid, Person.id).where(Person.project_id == project_id, Person.uuid.in_(staged))
    if id_type == "distinct_id":
        return (
            select(Person.uuid, Person.id)
            .join(PersonDistinctId, PersonDistinctId.person_id == Person.id)
            .where(PersonDistinctId.project_id == project_id, PersonDistinctId.distinct_id.in_(staged))
        )
    return select(Person.uuid, Person.id).where(
        Person.project_id == project_id, Person.properties["email"].as_string().in_(staged)
    )


def add_members_by_ids(
    session: Session, *, project_id: int, cohort_id: int, id_type: IdType, values: list[str]
) -> int:
    """Add the persons these ids name (unknown ids ignored); returns how many were new.

    The caller holds the cohort's lock (`static.lock_cohort`), so `count` and the members agree.
    """
    if id_type == "person_id":
        values = [u for u in (normalise_uuid(v) for v in values) if u is not None]
    if not values:
        return 0
    # Core statements on the session's connection: the ORM's per-row bookkeeping would otherwise be
    # most of a chunk's cost, and nothing here needs it.
    connection = session.connection()
    stage_values(connection, import_ids, values)
    already = exists().where(CohortPeople.cohort_id == cohort_id, CohortPeople.person_id == Person.id)
    newcomers = _matches(project_id, id_type).where(~already).distinct()
    new: dict[str, int] = {person_uuid: pk for person_uuid, pk in connection.execute(newcomers).tuples()}
    if new:
        # Same selection, written set-based; the cohort lock keeps it identical to what was read.
        people = newcomers.subquery()
        connection.execute(
            insert(_MEMBERS).from_select(
                ["cohort_id", "person_id", "created_at"],
                select(literal(cohort_id), people.c.id, literal(utcnow(), UTCDateTime())),
            )
        )
    import_ids.drop(connection)
    if not new:
        return 0
    members_changed(session, project_id=project_id, cohort_id=cohort_id, added=list(new))
    return len(new)
