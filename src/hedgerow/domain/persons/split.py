"""Splitting a merged person (`POST /persons/:id/split/`): distinct ids move off it, each onto
a new person of its own.

Each new person gets the UUID its distinct id would have created (UUIDv5 of project and id;
a fresh one when that is the original's own), no properties, and a version above the
original's (and above any deletion of that UUID), so the analytics replica takes the new
rows. The original keeps its UUID and properties (as PostHog's newest split does).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hedgerow.db.types import utcnow, uuid7
from hedgerow.domain.ingestion.outbox import write_outbox
from hedgerow.domain.persons.cache import PERSON_PROPERTIES
from hedgerow.domain.persons.history import log_person_activity
from hedgerow.domain.persons.identity import person_uuid
from hedgerow.domain.persons.models import Person, PersonDistinctId
from hedgerow.domain.persons.service import find_person
from hedgerow.domain.persons.tombstones import revive
from hedgerow.domain.projects.schemas import ProjectRef
from hedgerow.errors import InvalidInput
from hedgerow.store.base import DistinctIdVersion, PersonVersion


def _ids_to_move(current: list[str], main_distinct_id: Any, distinct_ids_to_split: Any) -> list[str]:
    if distinct_ids_to_split is None:
        if main_distinct_id is not None and not isinstance(main_distinct_id, str):
            raise InvalidInput("A valid string is required.", attr="main_distinct_id")
        keep = main_distinct_id or (current[0] if current else None)
        return [d for d in current if d != keep]
    if not isinstance(distinct_ids_to_split, list) or not all(
        isinstance(d, str) for d in distinct_ids_to_split
    ):
        raise InvalidInput("must be a list of strings", attr="distinct_ids_to_split")
    if not distinct_ids_to_split:
        raise InvalidInput("must not be empty", attr="distinct_ids_to_split")
    if main_distinct_id is not None:
        raise InvalidInput("main_distinct_id cannot be combined with distinct_ids_to_split")
    unknown = sorted(set(distinct_ids_to_split) - set(current))
    if unknown:
        raise InvalidInput(f"not on this person: {unknown}", attr="distinct_ids_to_split")
    return list(dict.fromkeys(distinct_ids_to_split))


def _new_uuid(project_id: int, distinct_id: str, original_uuid: str) -> str:
    """The id's own UUID, unless the original person already has it (the id created the
    person and another is kept): that id still moves off, to a fresh UUID."""
    own = person_uuid(project_id, distinct_id)
    return own if own != original_uuid else str(uuid7())


def split_person(
    session: Session,
    *,
    project: ProjectRef,
    user_id: int | None,
    person_id: str,
    main_distinct_id: Any = None,
    distinct_ids_to_split: Any = None,
) -> None:
    """Without `distinct_ids_to_split`, every id but `main_distinct_id` (by default the first
    the person got) moves off; with it, exactly those ids do."""
    original = find_person(session, project_id=project.id, person_id=person_id)
    rows = list(
        session.scalars(
            select(PersonDistinctId)
            .where(PersonDistinctId.person_id == original.id)
            .order_by(PersonDistinctId.id)
            .with_for_update()
        )
    )
    current = [row.distinct_id for row in rows]
    moving = set(_ids_to_move(current, main_distinct_id, distinct_ids_to_split))
    log_person_activity(
        session,
        project=project,
        user_id=user_id,
        person=original,
        activity="split_person",
        action="split",
        after={"distinct_ids": current}
        | ({"distinct_ids_to_split": list(distinct_ids_to_split)} if distinct_ids_to_split else {}),
    )
    moves = [row for row in rows if row.distinct_id in moving]
    if not moves:
        return
    uuids = [_new_uuid(project.id, row.distinct_id, original.uuid) for row in moves]
    buried = revive(session, project.id, "person", uuids)
    existing = {
        p.uuid: p
        for p in session.scalars(
            select(Person).where(Person.project_id == project.id, Person.uuid.in_(uuids))
        )
    }
    now = utcnow()
    person_versions: list[PersonVersion] = []
    id_versions: list[DistinctIdVersion] = []
    for row, uuid in zip(moves, uuids, strict=True):
        target = existing.get(uuid)
        if target is None:
            version = max(original.version, buried.get(uuid, -1)) + 1
            target = Person(
                uuid=uuid,
                project_id=project.id,
                properties={},
                is_identified=False,
                created_at=now,
                version=version,
            )
            session.add(target)
            session.flush()
            existing[uuid] = target
            person_versions.append(PersonVersion(project.id, uuid, "{}", False, now, version))
        row.person_id = target.id
        row.version += 1
        id_versions.append(DistinctIdVersion(project.id, row.distinct_id, uuid, row.version))
    PERSON_PROPERTIES.evict(original.id, original.uuid)
    session.flush()
    write_outbox(session, project_id=project.id, persons=person_versions, distinct_ids=id_versions)
