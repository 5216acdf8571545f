"""Writing accepted batches to the outbox, and moving them into the analytics store.

Replaying an entry is harmless: events are deduplicated by uuid by the store's readers, and
person/distinct-id rows carry versions (readers keep the highest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from hedgerow.db.session import transaction
from hedgerow.db.write_turns import WRITE_TURN
from hedgerow.domain.ingestion.models import IngestionOutbox
from hedgerow.store.base import AnalyticsStore, DistinctIdVersion, EventRow, PersonVersion

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _read_datetime(value: int | str) -> datetime:
    # Entries are written with ISO datetimes; integers (microseconds) are what earlier versions
    # wrote, and may still be waiting in an outbox after an upgrade.
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return _EPOCH + timedelta(microseconds=value)


@dataclass
class OutboxEntry:
    project_id: int
    events: list[EventRow]
    persons: list[PersonVersion]
    distinct_ids: list[DistinctIdVersion]


def encode_entry(
    events: Sequence[EventRow], persons: Sequence[PersonVersion], distinct_ids: Sequence[DistinctIdVersion]
) -> bytes:
    return orjson.dumps(
        {
            "e": [
                [
                    e.uuid,
                    e.event,
                    e.distinct_id,
                    e.person_id,
                    e.properties,
                    e.timestamp,
                    e.created_at,
                ]
                for e in events
            ],
            "p": [
                [p.id, p.properties, p.is_identified, p.created_at, p.version, p.is_deleted] for p in persons
            ],
            "d": [[d.distinct_id, d.person_id, d.version, d.is_deleted] for d in distinct_ids],
        }
    )


def decode_entry(project_id: int, payload: bytes) -> OutboxEntry:
    data: dict[str, Any] = orjson.loads(payload)
    return OutboxEntry(
        project_id=project_id,
        events=[
            EventRow(u, project_id, ev, did, pid, props, _read_datetime(ts), _read_datetime(ca))
            for u, ev, did, pid, props, ts, ca in data["e"]
        ],
        persons=[
            PersonVersion(project_id, pid, props, ident, _read_datetime(ca), ver, deleted)
            for pid, props, ident, ca, ver, deleted in data["p"]
        ],
        distinct_ids=[
            DistinctIdVersion(project_id, did, pid, ver, deleted) for did, pid, ver, deleted in data["d"]
        ],
    )


def write_outbox(
    session: Session,
    *,
    project_id: int,
    events: Sequence[EventRow] = (),
    persons: Sequence[PersonVersion] = (),
    distinct_ids: Sequence[DistinctIdVersion] = (),
) -> int | None:
    """Add an entry in `session`'s transaction; returns its id (None when there is nothing)."""
    if not (events or persons or distinct_ids):
        return None
    entry_id = (
        session.connection()
        .execute(
            insert(IngestionOutbox)
            .values(
                project_id=project_id,
                event_count=len(events),
                payload=encode_entry(events, persons, distinct_ids),
            )
            .returning(IngestionOutbox.id)
        )
        .scalar_one()
    )
    return int(entry_id)


@dataclass
class WrittenEntry:
    """An outbox entry its writer still holds in memory: copied from there, not decoded again."""

    id: int
    entry: OutboxEntry


def _append(store: AnalyticsStore, entries: Sequence[OutboxEntry]) -> None:
    persons = [p for e in entries for p in e.persons]
    distinct_ids = [d for e in entries for d in e.distinct_ids]
    events = [r for e in entries for r in e.events]
    if persons:
        store.append_person_versions(persons)
    if distinct_ids:
        store.append_distinct_id_versions(distinct_ids)
    if events:
        store.append_events(events)


def copy_written(
    factory: sessionmaker[Session], store: AnalyticsStore, written: Sequence[WrittenEntry]
) -> None:
    """Copy entries just committed into the store, then delete them from the outbox.

    If this fails half way the entries stay in the outbox and `drain_once` copies them again
    (harmlessly: see the module's note on replays).
    """
    if not written:
        return
    _append(store, [w.entry for w in written])
    with WRITE_TURN(factory), transaction(factory) as session:
        session.execute(delete(IngestionOutbox).where(IngestionOutbox.id.in_([w.id for w in written])))


def drain_once(factory: sessionmaker[Session], store: AnalyticsStore, *, max_entries: int = 200) -> int:
    """Copy up to `max_entries` outbox rows into the store, then delete them; returns rows moved.

    The rows are deleted only after the store accepted them, in the same metadata transaction
    that selected them (locked on PostgreSQL, so two replicators never take the same rows).
    """
    with factory() as session:
        rows = session.execute(
            select(IngestionOutbox.id, IngestionOutbox.project_id, IngestionOutbox.payload)
            .order_by(IngestionOutbox.id)
            .limit(max_entries)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return 0
        _append(store, [decode_entry(project_id, payload) for _, project_id, payload in rows])
        with WRITE_TURN(factory):
            session.execute(delete(IngestionOutbox).where(IngestionOutbox.id.in_([r[0] for r in rows])))
            session.commit()
        return len(rows)


def pending_entries(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(IngestionOutbox)) or 0
