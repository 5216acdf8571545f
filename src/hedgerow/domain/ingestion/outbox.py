"""Writing applied batches to the outbox, and moving them into the analytics store.

An entry carries what applying a group of batches produced (each event's person id, the person
and distinct-id versions) and refers to the queued batches for the events themselves: their
payloads stay in the queue, written once by capture, until the entry is copied.

Replaying an entry is harmless: events are deduplicated by uuid by the store's readers, and
person/distinct-id rows carry versions (readers keep the highest).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from hedgerow.db.session import transaction
from hedgerow.db.write_turns import WRITE_TURN
from hedgerow.domain.ingestion.batch_format import StoredBatch, decode_batch
from hedgerow.domain.ingestion.models import IngestionOutbox
from hedgerow.domain.ingestion.queue import delete_copied, queued_payloads
from hedgerow.store.base import (
    AnalyticsStore,
    DistinctIdVersion,
    EventColumns,
    EventRow,
    PersonVersion,
    from_micros,
)


def _read_datetime(value: int | str) -> datetime:
    # Entries are written with ISO datetimes; integers (microseconds) are what earlier versions
    # wrote, and may still be waiting in an outbox after an upgrade.
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return from_micros(value)


@dataclass
class OutboxEntry:
    project_id: int
    events: EventColumns
    persons: list[PersonVersion]
    distinct_ids: list[DistinctIdVersion]
    queue_ids: list[int] = field(default_factory=list)  # the queued batches it refers to


@dataclass(frozen=True)
class AppliedBatch:
    """A batch's payload (batch_format) with the person id of each of its events; with
    `queue_id`, the entry refers to the queued batch instead of carrying the payload."""

    payload: bytes
    person_ids: list[str]
    queue_id: int | None = None


# An entry: this byte, the header's length (4 bytes, big-endian), the header (orjson: per batch
# [length of its payload here, person ids, queue id], the person and distinct-id versions),
# then the payloads of the batches that are not queued (a batch with a queue id has length 0
# here: its payload is read from the queue). Earlier versions wrote `2` (every payload in the
# entry, no queue ids) and one JSON object (first byte `{`, events as rows); both are read.
_REFERRING = b"3"
_FRAMED = b"2"
_LENGTH = struct.Struct(">I")


def encode_entry(
    batches: Sequence[AppliedBatch],
    persons: Sequence[PersonVersion],
    distinct_ids: Sequence[DistinctIdVersion],
) -> bytes:
    carried = [b for b in batches if b.queue_id is None]
    header = orjson.dumps(
        {
            "b": [[len(b.payload) if b.queue_id is None else 0, b.person_ids, b.queue_id] for b in batches],
            "p": [
                [p.id, p.properties, p.is_identified, p.created_at, p.version, p.is_deleted] for p in persons
            ],
            "d": [[d.distinct_id, d.person_id, d.version, d.is_deleted] for d in distinct_ids],
        }
    )
    return b"".join([_REFERRING, _LENGTH.pack(len(header)), header, *(b.payload for b in carried)])


def event_columns(project_id: int, batches: Iterable[tuple[StoredBatch, list[str]]]) -> EventColumns:
    """The events of decoded batches, with each event's person id, as one set of columns."""
    columns = EventColumns()
    for batch, person_ids in batches:
        columns.extend(batch.event_columns(project_id, person_ids))
    return columns


def decode_entry(
    project_id: int, payload: bytes, read_queued: Callable[[list[int]], Mapping[int, bytes]]
) -> OutboxEntry:
    """An entry as written; `read_queued` gives the payloads of the queued batches it refers to."""
    codec = payload[:1]
    if codec not in (_REFERRING, _FRAMED):
        return _decode_rows_entry(project_id, payload)
    (length,) = _LENGTH.unpack_from(payload, 1)
    offset = 1 + _LENGTH.size
    header: dict[str, Any] = orjson.loads(payload[offset : offset + length])
    offset += length
    parts = header["b"] if codec == _REFERRING else [[size, ids, None] for size, ids in header["b"]]
    queue_ids = [queue_id for _, _, queue_id in parts if queue_id is not None]
    queued = read_queued(queue_ids) if queue_ids else {}
    batches: list[AppliedBatch] = []
    for size, person_ids, queue_id in parts:
        if queue_id is None:
            batches.append(AppliedBatch(payload[offset : offset + size], person_ids))
            offset += size
        elif queue_id in queued:
            batches.append(AppliedBatch(queued[queue_id], person_ids, queue_id))
        else:  # never deleted before its entry: the store would silently miss its events
            raise LookupError(f"outbox entry refers to queued batch {queue_id}, which is gone")
    return OutboxEntry(
        project_id=project_id,
        events=event_columns(project_id, ((decode_batch(b.payload)[0], b.person_ids) for b in batches)),
        persons=_person_versions(project_id, header["p"]),
        distinct_ids=_distinct_id_versions(project_id, header["d"]),
        queue_ids=queue_ids,
    )


def _person_versions(project_id: int, rows: list[list[Any]]) -> list[PersonVersion]:
    return [
        PersonVersion(project_id, pid, props, ident, _read_datetime(ca), ver, deleted)
        for pid, props, ident, ca, ver, deleted in rows
    ]


def _distinct_id_versions(project_id: int, rows: list[list[Any]]) -> list[DistinctIdVersion]:
    return [DistinctIdVersion(project_id, did, pid, ver, deleted) for did, pid, ver, deleted in rows]


def _decode_rows_entry(project_id: int, payload: bytes) -> OutboxEntry:
    data: dict[str, Any] = orjson.loads(payload)
    rows = [
        EventRow(u, project_id, ev, did, pid, props, _read_datetime(ts), _read_datetime(ca))
        for u, ev, did, pid, props, ts, ca in data["e"]
    ]
    return OutboxEntry(
        project_id=project_id,
        events=EventColumns.from_rows(rows),
        persons=_person_versions(project_id, data["p"]),
        distinct_ids=_distinct_id_versions(project_id, data["d"]),
    )


def write_outbox(
    session: Session,
    *,
    project_id: int,
    batches: Sequence[AppliedBatch] = (),
    persons: Sequence[PersonVersion] = (),
    distinct_ids: Sequence[DistinctIdVersion] = (),
) -> int | None:
    """Add an entry in `session`'s transaction; returns its id (None when there is nothing)."""
    if not (batches or persons or distinct_ids):
        return None
    entry_id = (
        session.connection()
        .execute(
            insert(IngestionOutbox)
            .values(
                project_id=project_id,
                event_count=sum(len(b.person_ids) for b in batches),
                payload=encode_entry(batches, persons, distinct_ids),
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
    events = EventColumns()
    for entry in entries:
        events.extend(entry.events)
    if persons:
        store.append_person_versions(persons)
    if distinct_ids:
        store.append_distinct_id_versions(distinct_ids)
    if len(events):
        store.append_event_columns(events)


def _delete_copied_entries(session: Session, entry_ids: list[int], entries: Sequence[OutboxEntry]) -> None:
    """Entries the store now holds leave the outbox, and the queued batches they refer to with them."""
    session.execute(delete(IngestionOutbox).where(IngestionOutbox.id.in_(entry_ids)))
    delete_copied(session, [queue_id for entry in entries for queue_id in entry.queue_ids])


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
        _delete_copied_entries(session, [w.id for w in written], [w.entry for w in written])


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
        read_queued = partial(queued_payloads, session)
        entries = [decode_entry(project_id, payload, read_queued) for _, project_id, payload in rows]
        _append(store, entries)
        with WRITE_TURN(factory):
            _delete_copied_entries(session, [r[0] for r in rows], entries)
            session.commit()
        return len(rows)


def pending_entries(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(IngestionOutbox)) or 0


def newest_entry_id(session: Session) -> int:
    """The id of the newest outbox entry (0 when it is empty)."""
    return session.scalar(select(func.max(IngestionOutbox.id))) or 0


def entries_waiting_through(factory: sessionmaker[Session], entry_id: int) -> bool:
    """Whether an entry with an id up to `entry_id` is still in the outbox: not copied yet, or
    being copied right now by another process (on PostgreSQL, `drain_once` skips locked rows)."""
    with factory() as session:
        waiting = session.scalar(select(IngestionOutbox.id).where(IngestionOutbox.id <= entry_id).limit(1))
    return waiting is not None
