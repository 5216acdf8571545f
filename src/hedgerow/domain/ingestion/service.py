"""Accepting a capture batch, and applying accepted batches to persons.

A capture request only resolves the token and appends the normalised batch to the ingestion
queue in one short transaction: when that commits the batch is durable, which is what a 200
promises. Person changes happen later, in arrival order, in large groups (`apply_queued`), and
the resulting event and person rows go through the outbox into the analytics store.

Applying a group reads and computes first, without holding the metadata store's write lock, and
writes last, in one short transaction: capture requests keep committing while persons are
worked out. The write re-checks what the computation assumed (the batches are still queued, the
persons still at the versions read) and starts over if another writer got there first.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Sequence
from contextlib import AbstractContextManager, ExitStack
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hedgerow.db.group_commit import GroupCommit
from hedgerow.db.session import engine_of, transaction
from hedgerow.db.write_turns import WRITE_TURN
from hedgerow.domain.ingestion.batch_format import encode_batch
from hedgerow.domain.ingestion.errors import IngestKeyUnknown
from hedgerow.domain.ingestion.events import CaptureBatch, CapturedEvent, PersonEvent
from hedgerow.domain.ingestion.outbox import (
    AppliedBatch,
    OutboxEntry,
    WrittenEntry,
    event_columns,
    write_outbox,
)
from hedgerow.domain.ingestion.queue import (
    ClaimConflict,
    QueuedBatch,
    QueueRow,
    UnappliableBatches,
    insert_queue_rows,
    insert_queue_rows_driver,
    peek_batches,
    queue_row,
    set_aside,
    take_batches,
)
from hedgerow.domain.persons.batch import PersonBatch, StalePersons
from hedgerow.domain.persons.identities import Generation, IdentityMemory, identity_memory, read_generation
from hedgerow.domain.persons.ingest import PersonProcessor
from hedgerow.domain.persons.live import LiveDistinctId
from hedgerow.domain.projects.service import get_project_by_token

log = logging.getLogger("hedgerow.ingestion")

# One group applied at a time per process (and on PostgreSQL no two of this process's person
# writers deadlocking each other); other processes are kept out by the claim re-check.
PERSON_WRITES = threading.Lock()
_ATTEMPTS = 5
# Ingestion allocates a few dozen containers per event: processes doing it raise the collector's
# first threshold to this (from 700), so it does not run every few events.
GC_THRESHOLD = 50_000
# token -> (project id, monotonic expiry): one lookup per token every few seconds, not per request.
_TOKEN_TTL_SECONDS = 5.0
_tokens: dict[str, tuple[int, float]] = {}


def _project_for_token(factory: sessionmaker[Session], token: str) -> int:
    cached = _tokens.get(token)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    with factory() as session:
        project = get_project_by_token(session, token)
    if project is None:
        raise IngestKeyUnknown()
    if len(_tokens) > 10_000:
        _tokens.clear()
    _tokens[token] = (project.id, time.monotonic() + _TOKEN_TTL_SECONDS)
    return project.id


def resolve_events(
    session: Session,
    project_id: int,
    batches: Sequence[Sequence[PersonEvent]],
    *,
    remembered: tuple[IdentityMemory, Generation] | None = None,
) -> tuple[list[list[str]], PersonBatch]:
    """Work out the batches' person changes in order, in memory (reading through `session`, and
    with `remembered`, through what this process remembers at that generation).

    Returns the person id of every event, batch by batch, and the changed persons, which
    `PersonBatch.flush` writes.
    """
    batch = PersonBatch(session, project_id, remembered=remembered)
    processor = PersonProcessor(batch)
    processor.preload([e for events in batches for e in events])
    person_ids = [[processor.process(event) for event in events] for events in batches]
    for warning in processor.warnings:
        log.warning("ingestion warning for project %s: %s", project_id, warning)
    return person_ids, batch


def ingest_events(
    session: Session, *, project_id: int, events: Sequence[CapturedEvent], now: datetime
) -> int:
    """Apply person changes now and put the events plus replica rows in the outbox, in `session`'s
    transaction (the persons API's property edits). Returns the number of events queued."""
    # Not while this process applies a group: that would find these persons changed under it.
    with PERSON_WRITES:
        [person_ids], persons = resolve_events(session, project_id, [events])
        changes = persons.flush()
    persons.forget_written()  # the caller commits (or not) later
    persons.release()
    write_outbox(
        session,
        project_id=project_id,
        batches=[AppliedBatch(encode_batch(events, now), person_ids)],
        persons=changes.persons,
        distinct_ids=changes.distinct_ids,
    )
    return len(events)


def _retrying(action: Any) -> Any:
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return action()
        except (IntegrityError, OperationalError, StalePersons, ClaimConflict):
            if attempt == _ATTEMPTS:
                raise
            time.sleep(0.02 * attempt)
    raise AssertionError("unreachable")


def _engine(engine_ref: weakref.ref[Engine]) -> Engine:
    engine = engine_ref()
    if engine is None:
        raise RuntimeError("the metadata store's engine is gone")
    return engine


def _queue_transaction(engine_ref: weakref.ref[Engine]) -> AbstractContextManager[Connection]:
    return WRITE_TURN.transaction(_engine(engine_ref))


def _queue_rows_now(engine_ref: weakref.ref[Engine], rows: list[QueueRow]) -> bool:
    engine = _engine(engine_ref)
    return WRITE_TURN.write_now(engine, partial(insert_queue_rows_driver, engine.dialect, rows=rows))


_QUEUE_WRITERS: weakref.WeakKeyDictionary[Engine, GroupCommit[QueueRow]] = weakref.WeakKeyDictionary()
_QUEUE_WRITERS_LOCK = threading.Lock()


def _queue_writer(factory: sessionmaker[Session]) -> GroupCommit[QueueRow]:
    """Capture requests of this process queue their batches together: concurrent requests
    share one transaction (and one turn at the write lock) instead of each waiting for its own."""
    engine = engine_of(factory)
    with _QUEUE_WRITERS_LOCK:
        writer = _QUEUE_WRITERS.get(engine)
        if writer is None:
            writer = GroupCommit(
                partial(_queue_transaction, weakref.ref(engine)),
                insert_queue_rows,
                name="hedgerow-capture-queue",
                retry_on=(IntegrityError, OperationalError),
                attempts=_ATTEMPTS,
                write_now=partial(_queue_rows_now, weakref.ref(engine)),
            )
            _QUEUE_WRITERS[engine] = writer
        return writer


def accept_capture(factory: sessionmaker[Session], batch: CaptureBatch, *, now: datetime) -> int:
    """Resolve the token and commit the batch to the queue; returns the number of events."""
    _queue_writer(factory).submit(queue_row(_project_for_token(factory, batch.token), batch.events, now))
    return len(batch.events)


async def accept_capture_async(factory: sessionmaker[Session], batch: CaptureBatch, *, now: datetime) -> int:
    """`accept_capture` for the capture endpoints: waits for the commit without holding a thread."""
    row = queue_row(_project_for_token(factory, batch.token), batch.events, now)
    writer = _queue_writer(factory)
    if not writer.write_now(row):
        await writer.submit_async(row)
    return len(batch.events)


def apply_queued(
    factory: sessionmaker[Session], *, max_batches: int, written: list[WrittenEntry] | None = None
) -> int:
    """Apply up to `max_batches` queued batches to persons and pass them to the outbox, in one
    transaction; returns the number of batches applied.

    The oldest batches are read and their person changes computed first; then, holding the
    write lock only briefly, the batches are marked applied (all of them, or another applier
    took them and this attempt starts over), the persons written (each at the version read, or
    the same) and outbox entries added that refer to the batches (their payloads stay in the
    queue: nothing large is copied under the lock), and all of it committed together. The
    analytics store is written afterwards, from the outbox (`outbox.drain_once`), which then
    deletes the entries and their batches. A crash before the commit leaves the batches queued
    with no person change made; after it, the outbox holds exactly what the store still needs.
    With `written`, the committed outbox entries are also handed back in memory, for the caller
    to copy without reading them back.

    A batch whose own data makes applying it fail would otherwise stop every batch behind it
    (and every reader that waits for the queue): the group is retried one batch at a time, and
    the batch at fault is moved to the dead letters with its error, intact.
    """

    def apply() -> int:
        with PERSON_WRITES, factory() as session, ExitStack() as releases:
            memory = identity_memory(engine_of(factory))
            try:
                return apply_group(session, memory, releases)
            except BaseException:
                memory.forget()  # the group changed remembered persons in place
                raise

    def apply_group(session: Session, memory: IdentityMemory, releases: ExitStack) -> int:
        generation = read_generation(session)
        claimed = peek_batches(session, max_batches)
        if not claimed:
            return 0
        by_project: dict[int, list[QueuedBatch]] = {}
        for queued in claimed:
            by_project.setdefault(queued.project_id, []).append(queued)
        resolved: list[tuple[int, list[QueuedBatch], list[list[str]], PersonBatch]] = []
        try:
            for project_id, batches in by_project.items():
                person_ids, persons = resolve_events(
                    session, project_id, [b.events for b in batches], remembered=(memory, generation)
                )
                releases.callback(persons.release)
                resolved.append((project_id, batches, person_ids, persons))
            for *_, persons in resolved:  # what can be worked out before the write turn
                persons.prepare()
        except SQLAlchemyError:
            raise
        except Exception as exc:
            raise UnappliableBatches([b.id for b in claimed], exc) from exc
        entries: list[WrittenEntry] = []
        # The write phase: short, and the only part that holds the write turn.
        with WRITE_TURN(factory):
            take_batches(session, [b.id for b in claimed])
            # After the first write of the transaction: from here on no other writer can
            # commit before this one (SQLite's write lock; PostgreSQL's lock on the row).
            if read_generation(session, lock=True) != generation:
                raise StalePersons("persons changed elsewhere since this group read them")
            for project_id, batches, person_ids, persons in resolved:
                try:
                    changes = persons.flush()
                except (SQLAlchemyError, StalePersons):
                    raise
                except Exception as exc:
                    raise UnappliableBatches([b.id for b in claimed], exc) from exc
                applied = [
                    AppliedBatch(b.payload, ids, b.id) for b, ids in zip(batches, person_ids, strict=True)
                ]
                entry_id = write_outbox(
                    session,
                    project_id=project_id,
                    batches=applied,
                    persons=changes.persons,
                    distinct_ids=changes.distinct_ids,
                )
                if entry_id is not None and written is not None:
                    pairs = zip((b.batch for b in batches), person_ids, strict=True)
                    columns = event_columns(project_id, pairs)
                    queue_ids = [b.id for b in batches]
                    entry = OutboxEntry(project_id, columns, changes.persons, changes.distinct_ids, queue_ids)
                    entries.append(WrittenEntry(entry_id, entry))
            written_generation = read_generation(session)
            session.commit()
        remembered: list[tuple[int, LiveDistinctId]] = []
        removed: list[int] = []
        for project_id, *_, persons in resolved:
            persons.committed()
            ids, gone = persons.remembered_state()
            remembered.extend((project_id, live) for live in ids)
            removed.extend(gone)
        memory.remember(generation, written_generation, remembered, removed)
        if written is not None:
            written.extend(entries)
        return len(claimed)

    try:
        result: int = _retrying(apply)
    except UnappliableBatches as failed:
        if len(failed.queue_ids) > 1:
            moved = 0
            for _ in failed.queue_ids:
                moved += apply_queued(factory, max_batches=1)
            return moved
        log.error("setting aside queued batch %s: %r", failed.queue_ids[0], failed.error)
        with WRITE_TURN(factory), transaction(factory) as session:
            set_aside(session, failed.queue_ids[0], repr(failed.error))
        return 1
    return result
