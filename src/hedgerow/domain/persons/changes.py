"""Changing persons from the persons API: property edits go through ingestion as `$set` /
`$delete_person_property` events (as PostHog does); deletion removes the person and replicates
deleted versions of it and its distinct ids, and with `delete_events` queues the deletion of its
events (`event_deletion.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hedgerow.db.types import uuid7
from hedgerow.domain.ingestion.events import CapturedEvent
from hedgerow.domain.ingestion.outbox import write_outbox
from hedgerow.domain.ingestion.service import ingest_events
from hedgerow.domain.persons.cache import PERSON_PROPERTIES
from hedgerow.domain.persons.event_deletion import queue_event_deletion
from hedgerow.domain.persons.history import log_person_activity
from hedgerow.domain.persons.models import Person, PersonDistinctId
from hedgerow.domain.persons.presentation import ordered_distinct_ids
from hedgerow.domain.persons.service import distinct_ids_by_person, find_person
from hedgerow.domain.persons.tombstones import bury
from hedgerow.domain.projects.schemas import ProjectRef
from hedgerow.errors import InvalidInput
from hedgerow.store.base import DistinctIdVersion, PersonVersion

MAX_BULK_DELETE = 1000


def _send_person_event(session: Session, person: Person, event: str, properties: dict[str, Any]) -> None:
    ids = ordered_distinct_ids(distinct_ids_by_person(session, [person.id]).get(person.id, []))
    if not ids:
        return
    now = datetime.now(UTC)
    captured = CapturedEvent(str(uuid7()), event, ids[0], properties, now)
    ingest_events(session, project_id=person.project_id, events=[captured], now=now)


def set_person_properties(
    session: Session, *, project_id: int, person_id: str, properties: dict[str, Any]
) -> None:
    person = find_person(session, project_id=project_id, person_id=person_id)
    _send_person_event(session, person, "$set", {"$set": properties})


def delete_person_property(
    session: Session, *, project: ProjectRef, user_id: int | None, person_id: str, key: str
) -> None:
    person = find_person(session, project_id=project.id, person_id=person_id)
    _send_person_event(session, person, "$delete_person_property", {"$unset": [key]})
    log_person_activity(
        session, project=project, user_id=user_id, person=person, activity="delete_property", action="changed"
    )


def _delete_rows(session: Session, project_id: int, persons: Sequence[Person]) -> None:
    """Delete in the metadata store and queue deleted versions (one above the last) for the replica."""
    if not persons:
        return
    pks = [p.id for p in persons]
    uuid_of = {p.id: p.uuid for p in persons}
    id_rows = session.execute(
        select(PersonDistinctId.distinct_id, PersonDistinctId.version, PersonDistinctId.person_id).where(
            PersonDistinctId.person_id.in_(pks)
        )
    ).all()
    for person in persons:
        PERSON_PROPERTIES.evict(person.id, person.uuid)
    session.execute(delete(PersonDistinctId).where(PersonDistinctId.person_id.in_(pks)))
    session.execute(delete(Person).where(Person.id.in_(pks)))
    bury(
        session,
        project_id,
        [(p.uuid, p.version + 1) for p in persons],
        [(d, version + 1) for d, version, _ in id_rows],
    )
    write_outbox(
        session,
        project_id=project_id,
        persons=[
            PersonVersion(
                project_id, p.uuid, "{}", p.is_identified, p.created_at, p.version + 1, is_deleted=True
            )
            for p in persons
        ],
        distinct_ids=[
            DistinctIdVersion(project_id, d, uuid_of[pk], version + 1, is_deleted=True)
            for d, version, pk in id_rows
        ],
    )


def _delete_persons(
    session: Session, project_id: int, persons: Sequence[Person], *, delete_events: bool
) -> None:
    uuids = [p.uuid for p in persons]
    _delete_rows(session, project_id, persons)
    if delete_events:
        queue_event_deletion(session, project_id=project_id, person_uuids=uuids)


def delete_person(
    session: Session,
    *,
    project: ProjectRef,
    user_id: int | None,
    person_id: str,
    delete_events: bool = False,
) -> None:
    """With `delete_events`, the person's events are deleted too, by a job queued in this
    transaction (the person goes now, its events shortly after)."""
    person = find_person(session, project_id=project.id, person_id=person_id)
    log_person_activity(session, project=project, user_id=user_id, person=person, activity="deleted")
    _delete_persons(session, project.id, [person], delete_events=delete_events)


def bulk_delete_persons(
    session: Session,
    *,
    project_id: int,
    distinct_ids: Sequence[str] = (),
    uuids: Sequence[str] = (),
    delete_events: bool = False,
) -> None:
    if not distinct_ids and not uuids:
        raise InvalidInput("You must provide either distinct_ids or ids.")
    if len(distinct_ids) > MAX_BULK_DELETE or len(uuids) > MAX_BULK_DELETE:
        raise InvalidInput(f"You can only pass {MAX_BULK_DELETE} ids at a time.")
    query = select(Person).where(Person.project_id == project_id)
    if distinct_ids:
        owners = select(PersonDistinctId.person_id).where(
            PersonDistinctId.project_id == project_id, PersonDistinctId.distinct_id.in_(list(distinct_ids))
        )
        query = query.where(Person.id.in_(owners))
    else:
        query = query.where(Person.uuid.in_([u.lower() for u in uuids]))
    _delete_persons(session, project_id, list(session.scalars(query)), delete_events=delete_events)
