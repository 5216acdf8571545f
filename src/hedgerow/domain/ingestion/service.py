"""Accepting a capture batch: persons updated and the batch put in the outbox, in one transaction.

When this returns, the batch is committed to the metadata store: that is what a 200 promises.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hedgerow.db.session import transaction
from hedgerow.domain.ingestion.errors import IngestKeyUnknown
from hedgerow.domain.ingestion.events import CaptureBatch, CapturedEvent
from hedgerow.domain.ingestion.outbox import write_outbox
from hedgerow.domain.persons.batch import PersonBatch
from hedgerow.domain.persons.ingest import PersonProcessor
from hedgerow.domain.projects.service import get_project_by_token
from hedgerow.store.base import EventRow

log = logging.getLogger("hedgerow.ingestion")

# Batches touching persons are applied one at a time per process: SQLite has one writer anyway,
# and on PostgreSQL it keeps this process's batches from deadlocking each other.
_PERSON_WRITES = threading.Lock()
_ATTEMPTS = 5
# token -> (project id, monotonic expiry): one lookup per token every few seconds, not per request.
_TOKEN_TTL_SECONDS = 5.0
_tokens: dict[str, tuple[int, float]] = {}


def _project_for_token(session: Session, token: str) -> int:
    cached = _tokens.get(token)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    project = get_project_by_token(session, token)
    if project is None:
        raise IngestKeyUnknown()
    if len(_tokens) > 10_000:
        _tokens.clear()
    _tokens[token] = (project.id, time.monotonic() + _TOKEN_TTL_SECONDS)
    return project.id


def dumps_json(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers beyond 64 bits
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def ingest_events(
    session: Session, *, project_id: int, events: Sequence[CapturedEvent], now: datetime
) -> int:
    """Apply person changes and queue events plus replica rows in `session`'s transaction.

    Returns the number of events queued (a uuid repeated within the batch is kept once).
    """
    batch = PersonBatch(session, project_id)
    processor = PersonProcessor(batch)
    processor.preload(list(events))
    rows: list[EventRow] = []
    seen: set[str] = set()
    for event in events:
        person_id = processor.process(event)
        if event.uuid in seen:
            continue
        seen.add(event.uuid)
        rows.append(
            EventRow(
                event.uuid,
                project_id,
                event.event,
                event.distinct_id,
                person_id,
                dumps_json(event.properties),
                event.timestamp,
                now,
            )
        )
    for warning in processor.warnings:
        log.warning("ingestion warning for project %s: %s", project_id, warning)
    changes = batch.flush()
    write_outbox(
        session,
        project_id=project_id,
        events=rows,
        persons=changes.persons,
        distinct_ids=changes.distinct_ids,
    )
    return len(rows)


def accept_capture(factory: sessionmaker[Session], batch: CaptureBatch, *, now: datetime) -> int:
    """Resolve the token and commit the batch; retried on a write conflict with another writer."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with _PERSON_WRITES, transaction(factory) as session:
                project_id = _project_for_token(session, batch.token)
                return ingest_events(session, project_id=project_id, events=batch.events, now=now)
        except (IntegrityError, OperationalError):
            if attempt == _ATTEMPTS:
                raise
            time.sleep(0.02 * attempt)
    raise AssertionError("unreachable")
