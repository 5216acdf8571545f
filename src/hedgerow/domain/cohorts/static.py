"""Static cohort membership: the metadata store is the source of truth, the analytics store a replica.

Every membership change writes, in the same transaction, the member rows, the cohort's `count`
and an outbox entry. `replicate_static_members` later applies outbox entries to the analytics
store in order and deletes them, so a crash between the two stores only delays the replica.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from hedgerow.db.types import utcnow
from hedgerow.domain.cohorts.models import Cohort, CohortPeople, CohortStaticOutbox
from hedgerow.domain.persons.models import Person

# SQLite allows 32766 bound parameters per statement; stay well under it.
_CHUNK = 5000
OUTBOX_BATCH = 200
_CANONICAL_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def normalise_uuid(value: Any) -> str | None:
    """PostHog stores person UUIDs lower-case with dashes; anything unparsable is no person."""
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    if _CANONICAL_UUID.match(value):
        return value
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


def persons_by_uuid(session: Session, *, project_id: int, uuids: Sequence[str]) -> dict[str, int]:
    """person UUID -> person primary key, for the UUIDs that are persons of this project."""
    found: dict[str, int] = {}
    wanted = list(dict.fromkeys(uuids))
    for start in range(0, len(wanted), _CHUNK):
        rows = session.execute(
            select(Person.uuid, Person.id).where(
                Person.project_id == project_id, Person.uuid.in_(wanted[start : start + _CHUNK])
            )
        )
        found.update({person_uuid: pk for person_uuid, pk in rows})
    return found


def lock_cohort(session: Session, cohort_id: int) -> None:
    """Serialise membership writers of one cohort so `count` never loses an increment.

    A no-op UPDATE rather than SELECT ... FOR UPDATE: on PostgreSQL both take the row lock, and on
    SQLite only a write takes the database's write lock, waiting its turn (busy timeout). Called
    first in a transaction it keeps SQLite from refusing a later write because another connection
    committed after this transaction's first read ("database is locked" without waiting).
    """
    session.execute(
        update(Cohort)
        .where(Cohort.id == cohort_id)
        .values(id=Cohort.id)
        .execution_options(synchronize_session=False)
    )


def add_members(session: Session, *, project_id: int, cohort_id: int, persons: dict[str, int]) -> int:
    """Add persons (UUID -> pk) not yet in the cohort; returns how many were new. Caller holds the lock."""
    if not persons:
        return 0
    pks = list(persons.values())
    existing: set[int] = set()
    for start in range(0, len(pks), _CHUNK):
        existing.update(
            session.scalars(
                select(CohortPeople.person_id).where(
                    CohortPeople.cohort_id == cohort_id,
                    CohortPeople.person_id.in_(pks[start : start + _CHUNK]),
                )
            )
        )
    new = {person_uuid: pk for person_uuid, pk in persons.items() if pk not in existing}
    if not new:
        return 0
    now = utcnow()
    session.execute(
        insert(CohortPeople),
        [{"cohort_id": cohort_id, "person_id": pk, "created_at": now} for pk in new.values()],
    )
    members_changed(session, project_id=project_id, cohort_id=cohort_id, added=list(new))
    return len(new)


def remove_member(
    session: Session, *, project_id: int, cohort_id: int, person_uuid: str, person_pk: int
) -> int:
    removed = session.execute(
        delete(CohortPeople).where(CohortPeople.cohort_id == cohort_id, CohortPeople.person_id == person_pk)
    ).rowcount  # type: ignore[attr-defined]
    if removed:
        members_changed(session, project_id=project_id, cohort_id=cohort_id, removed=[person_uuid])
    return int(removed)


def move_members(session: Session, *, project_id: int, moves: Sequence[tuple[int, str, int, str]]) -> None:
    """After person merges: each (merged pk, merged UUID, target pk, target UUID) hands its static
    cohort memberships to the person it was merged into, as PostHog re-points them. Where both
    were members, the target's row stays and the cohort counts one member fewer."""
    by_pk = {from_pk: (from_uuid, to_pk, to_uuid) for from_pk, from_uuid, to_pk, to_uuid in moves}
    rows = session.execute(
        select(CohortPeople.id, CohortPeople.cohort_id, CohortPeople.person_id).where(
            CohortPeople.person_id.in_(list(by_pk))
        )
    ).all()
    for row_id, cohort_id, from_pk in rows:
        from_uuid, to_pk, to_uuid = by_pk[from_pk]
        target_is_member = session.scalar(
            select(CohortPeople.id).where(
                CohortPeople.cohort_id == cohort_id, CohortPeople.person_id == to_pk
            )
        )
        if target_is_member is not None:
            session.execute(delete(CohortPeople).where(CohortPeople.id == row_id))
            members_changed(session, project_id=project_id, cohort_id=cohort_id, removed=[from_uuid])
        else:
            session.execute(update(CohortPeople).where(CohortPeople.id == row_id).values(person_id=to_pk))
            members_changed(
                session, project_id=project_id, cohort_id=cohort_id, added=[to_uuid], removed=[from_uuid]
            )


def members_changed(
    session: Session,
    *,
    project_id: int,
    cohort_id: int,
    added: list[str] | None = None,
    removed: list[str] | None = None,
) -> None:
    """After members were inserted or deleted: move `count` by as many, in the same transaction,
    and queue the change for the analytics store."""
    delta = len(added or []) - len(removed or [])
    session.execute(
        update(Cohort)
        .where(Cohort.id == cohort_id)
        .values(count=func.coalesce(Cohort.count, 0) + delta)
        .execution_options(synchronize_session=False)
    )
    if added:
        write_outbox(session, project_id=project_id, cohort_id=cohort_id, action="add", person_uuids=added)
    if removed:
        write_outbox(
            session, project_id=project_id, cohort_id=cohort_id, action="remove", person_uuids=removed
        )


def write_outbox(
    session: Session, *, project_id: int, cohort_id: int, action: str, person_uuids: list[str]
) -> None:
    session.add(
        CohortStaticOutbox(
            project_id=project_id,
            cohort_id=cohort_id,
            action=action,
            person_uuids=person_uuids,
            created_at=utcnow(),
        )
    )


def pending_replication(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(CohortStaticOutbox)) or 0


def replicate_static_members(factory: sessionmaker[Session], store: Any) -> int:
    """Apply outbox entries to the analytics store in order; returns how many were applied.

    An entry is deleted only after the store accepted it. Replaying one (after a crash between
    the store write and the delete) adds members that are already there or removes ones already
    gone, which the store's readers treat as no change. Safe to call from several places: each
    entry is claimed with a row lock on PostgreSQL, and SQLite has one writer.
    """
    applied = 0
    while True:
        with factory() as session, session.begin():
            entries = list(
                session.scalars(
                    select(CohortStaticOutbox)
                    .order_by(CohortStaticOutbox.id)
                    .limit(OUTBOX_BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            if not entries:
                return applied
            for entry in entries:
                if entry.action == "add":
                    store.add_static_cohort_members(entry.project_id, entry.cohort_id, entry.person_uuids)
                else:
                    store.remove_static_cohort_members(entry.project_id, entry.cohort_id, entry.person_uuids)
                session.delete(entry)
                applied += 1
