"""`hedgerow dead-letters list|replay`: batches set aside are shown with their errors and can be
put back in the queue whole, while (or without) a server running."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from hedgerow.db.session import make_engine, make_sessionmaker, transaction
from hedgerow.domain.ingestion.batch_format import encode_batch
from hedgerow.domain.ingestion.events import CapturedEvent
from hedgerow.domain.ingestion.models import IngestionApplied, IngestionDeadLetter, IngestionQueue
from hedgerow.domain.ingestion.queue import decode_queued, list_dead_letters, queued_batches
from hedgerow.domain.ingestion.service import apply_queued
from tests.support import hedgerow_cli


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEROW_")}
    values["HEDGEROW_DATA_DIR"] = str(tmp_path / "data")
    values["HEDGEROW_DATABASE_URL"] = database_url
    return values


def test_dead_letters_are_listed_and_replayed_whole(env: dict[str, str]) -> None:
    project_id = hedgerow_cli(env, "init", "--json")["project_id"]
    assert hedgerow_cli(env, "dead-letters", "list", "--json") == []
    when = datetime(2024, 5, 1, tzinfo=UTC)
    events = [
        CapturedEvent(f"00000000-0000-4000-8000-00000000000{i}", "signed_up", "ann", {"$set": {"n": i}}, when)
        for i in (1, 2)
    ]
    factory = make_sessionmaker(make_engine(env["HEDGEROW_DATABASE_URL"]))
    with transaction(factory) as session:
        for queue_id, error in ((7, "ValueError('first')"), (9, "ValueError('second')")):
            session.execute(
                insert(IngestionDeadLetter).values(
                    queue_id=queue_id,
                    project_id=project_id,
                    event_count=2,
                    payload=encode_batch(events, when),
                    error=error,
                    created_at=when,
                )
            )
    listed = hedgerow_cli(env, "dead-letters", "list", "--json")
    assert [(d["queue_id"], d["event_count"], d["error"]) for d in listed] == [
        (7, 2, "ValueError('first')"),
        (9, 2, "ValueError('second')"),
    ]
    assert hedgerow_cli(env, "dead-letters", "replay", "--ids", str(listed[0]["id"]), "--json") == {
        "requeued": 1
    }
    with factory() as session:
        assert [d.queue_id for d in list_dead_letters(session)] == [9]
    assert queued_batches(factory) == 1
    assert apply_queued(factory, max_batches=10) == 1
    assert hedgerow_cli(env, "dead-letters", "replay", "--json") == {"requeued": 1}
    assert hedgerow_cli(env, "dead-letters", "list", "--json") == []
    # What comes back is the batch as it was set aside.
    with factory() as session:
        # (The batch applied above stays in the queue, marked applied, until it is copied.)
        applied = select(IngestionApplied.queue_id)
        [(queue_id, payload)] = (
            session.query(IngestionQueue.id, IngestionQueue.payload)
            .filter(IngestionQueue.id.not_in(applied))
            .all()
        )
    assert [e.uuid for e in decode_queued(queue_id, project_id, payload).events] == [e.uuid for e in events]
