"""Adding many static members at once (CSV imports): the ids go through a temporary table and are
matched to persons with one join per chunk, instead of one long `IN (...)` list per lookup."""

from __future__ import annotations

from typing import Literal, cast

from sqlalchemy import (
    Column,
    MetaData,
    Select,
    String,
    Table,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from hedgerow.db.types import UTCDateTime, utcnow
from hedgerow.domain.cohorts.models import Cohort, CohortPeople
from hedgerow.domain.cohorts.static import normalise_uuid, write_outbox
from hedgerow.domain.persons.models import Person, PersonDistinctId

_MEMBERS = cast(Table, CohortPeople.__table__)
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
_ROWS_PER_STATEMENT = 50  # psycopg caches the parsing of statements with up to 50 parameters
IdType = Literal["person_id", "distinct_id", "email"]

# Not part of the schema (Alembic never sees this metadata): one per connection, emptied per chunk.
_scratch = MetaData()
import_ids = Table(
    "cohort_import_ids", _scratch, Column("value", String(400), primary_key=True), prefixes=["TEMPORARY"]
)


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
    # A fresh table per chunk: deleted rows of a temporary table are never vacuumed on PostgreSQL,
    # so reusing one would make every chunk scan all the chunks before it.
    import_ids.drop(connection, checkfirst=True)
    import_ids.create(connection)
    # Staging is the per-row hot path of a million-row import. Rows go in fixed-size multi-row
    # VALUES statements sent as one executemany, in the driver's own placeholder style: no per-row
    # parameter processing, no per-row round trip, and a statement small enough for psycopg to
    # parse once and reuse.
    placeholder = _PLACEHOLDERS.get(connection.dialect.paramstyle, "?")
    unique = list(dict.fromkeys(values))
    full = len(unique) - len(unique) % _ROWS_PER_STATEMENT
    batches = [tuple(unique[i : i + _ROWS_PER_STATEMENT]) for i in range(0, full, _ROWS_PER_STATEMENT)]
    for rows in (batches, [tuple(unique[full:])] if full < len(unique) else []):
        if rows:
            values_sql = ", ".join([f"({placeholder})"] * len(rows[0]))
            connection.exec_driver_sql(f"INSERT INTO {import_ids.name} (value) VALUES {values_sql}", rows)
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
    session.execute(
        update(Cohort)
        .where(Cohort.id == cohort_id)
        .values(count=func.coalesce(Cohort.count, 0) + len(new))
        .execution_options(synchronize_session=False)
    )
    write_outbox(session, project_id=project_id, cohort_id=cohort_id, action="add", person_uuids=list(new))
    return len(new)
