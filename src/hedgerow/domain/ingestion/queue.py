"""The ingestion queue: accepted capture batches (encoded by `batch_format`), waiting for the
applier to apply their person changes, then for the outbox entry that refers to them to be
copied into the analytics store. A batch is *queued* until applied (`ingestion_applied` lists
those that are), and leaves the table once copied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Dialect, Table, delete, exists, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hedgerow.db.bulk import BulkStatement
from hedgerow.domain.ingestion.batch_format import StoredBatch, StoredEvent, decode_batch, encode_batch
from hedgerow.domain.ingestion.events import CapturedEvent
from hedgerow.domain.ingestion.models import IngestionApplied, IngestionDeadLetter, IngestionQueue

QUEUE: Table = IngestionQueue.__table__  # type: ignore[assignment]
DEAD_LETTERS: Table = IngestionDeadLetter.__table__  # type: ignore[assignment]
APPLIED: Table = IngestionApplied.__table__  # type: ignore[assignment]
_CLAIM = BulkStatement(insert(APPLIED), ("queue_id",))


_UNAPPLIED: ColumnElement[bool] = ~exists().where(APPLIED.c.queue_id == QUEUE.c.id)


# Every capture request runs this: built once, and rows handed straight to the driver.
_INSERT = BulkStatement(insert(QUEUE), ("project_id", "event_count", "payload", "created_at"))


class UnappliableBatches(Exception):
    """Batches whose data, not the database, made applying them fail: retrying cannot help."""

    def __init__(self, queue_ids: list[int], error: BaseException):
        super().__init__(f"queued batches {queue_ids} cannot be applied: {error!r}")
        self.queue_ids = queue_ids
        self.error = error


@dataclass
class QueuedBatch:
    id: int
    project_id: int
    batch: StoredBatch
    payload: bytes  # `batch` encoded (batch_format), as the outbox passes it on

    @property
    def events(self) -> list[StoredEvent]:
        return self.batch.person_events()


def decode_queued(queue_id: int, project_id: int, payload: bytes) -> QueuedBatch:
    batch, current = decode_batch(payload)
    return QueuedBatch(queue_id, project_id, batch, current)


QueueRow = tuple[int, int, bytes, datetime]  # in the order of _INSERT's keys


def queue_row(project_id: int, events: Sequence[CapturedEvent], received_at: datetime) -> QueueRow:
    """One accepted batch as a row of the queue (encoded here, before any lock is taken)."""
    return (project_id, len(events), encode_batch(events, received_at), received_at)


def insert_queue_rows(connection: Connection, rows: list[QueueRow]) -> None:
    _INSERT.executemany(connection, rows)


def insert_queue_rows_driver(dialect: Dialect, driver_connection: Any, *, rows: list[QueueRow]) -> None:
    """`insert_queue_rows` through a connection of the database driver's own."""
    driver_connection.executemany(*_INSERT.driver_call(dialect, rows))


def newest_queued(factory: sessionmaker[Session]) -> int | None:
    """The queue id of the batch accepted last, if any is waiting."""
    with factory() as session:
        return session.scalar(select(func.max(QUEUE.c.id)))


def oldest_queued(factory: sessionmaker[Session]) -> int | None:
    """The queue id of the batch waiting longest to be applied, if any (read without taking a
    write lock: readers ask before every request, and most of the time the queue is empty)."""
    with factory() as session:
        return session.scalar(select(func.min(QUEUE.c.id)).where(_UNAPPLIED))


class ClaimConflict(Exception):
    """Another applier took some of the batches this one read: start over."""


def peek_batches(session: Session, limit: int) -> list[QueuedBatch]:
    """The oldest `limit` batches, in arrival order, read in `session`'s transaction.

    On PostgreSQL the rows are locked, so a second applier waits for this one to commit and
    then reads the batches after these: applying never skips ahead of an earlier batch, which
    would apply a project's person changes out of arrival order. On SQLite reading takes no
    lock; `take_batches` finds out whether another process took them meanwhile.
    """
    rows = session.connection().execute(
        select(QUEUE.c.id, QUEUE.c.project_id, QUEUE.c.payload)
        .where(_UNAPPLIED)
        .order_by(QUEUE.c.id)
        .limit(limit)
        .with_for_update()
    )
    batches: list[QueuedBatch] = []
    for queue_id, project_id, payload in rows:
        try:
            batches.append(decode_queued(queue_id, project_id, payload))
        except (ValueError, KeyError, TypeError) as exc:  # a payload this version cannot read
            raise UnappliableBatches([queue_id], exc) from exc
    return batches


def take_batches(session: Session, queue_ids: list[int]) -> None:
    """Mark the batches being applied, in the transaction that applies them; nothing changes
    if it rolls back. Their payloads stay where capture wrote them, for the outbox entry that
    refers to them. Raises ClaimConflict unless every one of them was still queued (a batch
    applied elsewhere is marked already; one set aside or copied is gone, and its mark would
    refer to nothing)."""
    try:  # the caller starts over with a new transaction
        _CLAIM.executemany(session.connection(), [(queue_id,) for queue_id in queue_ids])
    except IntegrityError as exc:
        raise ClaimConflict(f"some of batches {queue_ids[:5]}... were applied elsewhere") from exc


def queued_payloads(session: Session, queue_ids: list[int]) -> dict[int, bytes]:
    """The payloads of applied batches, by queue id, for copying the entries that refer to them."""
    payloads: dict[int, bytes] = {}
    for start in range(0, len(queue_ids), 500):
        rows = session.connection().execute(
            select(QUEUE.c.id, QUEUE.c.payload).where(QUEUE.c.id.in_(queue_ids[start : start + 500]))
        )
        payloads.update((queue_id, payload) for queue_id, payload in rows)
    return payloads


def delete_copied(session: Session, queue_ids: list[int]) -> None:
    """Remove batches whose events the analytics store now holds, in the transaction that deletes
    the outbox entries referring to them."""
    for start in range(0, len(queue_ids), 500):
        chunk = queue_ids[start : start + 500]
        session.connection().execute(delete(APPLIED).where(APPLIED.c.queue_id.in_(chunk)))
        session.connection().execute(delete(QUEUE).where(QUEUE.c.id.in_(chunk)))


def set_aside(session: Session, queue_id: int, error: str) -> bool:
    """Move one queued batch to the dead letters; False if it is no longer queued."""
    row = (
        session.connection()
        .execute(
            delete(QUEUE)
            .where(QUEUE.c.id == queue_id, _UNAPPLIED)
            .returning(QUEUE.c.project_id, QUEUE.c.event_count, QUEUE.c.payload)
        )
        .first()
    )
    if row is None:
        return False
    session.connection().execute(
        insert(DEAD_LETTERS).values(
            queue_id=queue_id,
            project_id=row[0],
            event_count=row[1],
            payload=row[2],
            error=error[:4000],
            created_at=datetime.now(UTC),
        )
    )
    return True


@dataclass(frozen=True)
class DeadLetter:
    id: int
    queue_id: int
    project_id: int
    event_count: int
    error: str
    created_at: datetime


def list_dead_letters(session: Session) -> list[DeadLetter]:
    rows = session.execute(
        select(
            DEAD_LETTERS.c.id,
            DEAD_LETTERS.c.queue_id,
            DEAD_LETTERS.c.project_id,
            DEAD_LETTERS.c.event_count,
            DEAD_LETTERS.c.error,
            DEAD_LETTERS.c.created_at,
        ).order_by(DEAD_LETTERS.c.id)
    ).all()
    return [DeadLetter(*row) for row in rows]


def requeue_dead_letters(session: Session, ids: Sequence[int] | None = None) -> int:
    """Put dead letters (all, or those with `ids`) back at the end of the queue, intact, in
    `session`'s transaction; returns how many. Their person changes then apply after the
    batches accepted since they were set aside."""
    query = select(
        DEAD_LETTERS.c.id, DEAD_LETTERS.c.project_id, DEAD_LETTERS.c.event_count, DEAD_LETTERS.c.payload
    )
    if ids is not None:
        query = query.where(DEAD_LETTERS.c.id.in_(list(ids)))
    rows = session.execute(query.order_by(DEAD_LETTERS.c.id)).all()
    now = datetime.now(UTC)
    for letter_id, project_id, event_count, payload in rows:
        session.execute(
            insert(QUEUE).values(
                project_id=project_id, event_count=event_count, payload=payload, created_at=now
            )
        )
        session.execute(delete(DEAD_LETTERS).where(DEAD_LETTERS.c.id == letter_id))
    return len(rows)


def queued_batches(factory: sessionmaker[Session]) -> int:
    """Batches waiting to be applied."""
    with factory() as session:
        return session.scalar(select(func.count()).select_from(QUEUE).where(_UNAPPLIED)) or 0
