"""The outbox copy and the events listing on both analytics engines (DuckDB and ClickHouse's
engine in-process), so the listing SQL is proven in each dialect."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hedgerow.db.session import make_engine, make_sessionmaker, transaction
from hedgerow.domain.ingestion.batch_format import encode_batch
from hedgerow.domain.ingestion.event_listing import EventQuery, list_events
from hedgerow.domain.ingestion.events import CapturedEvent
from hedgerow.domain.ingestion.outbox import AppliedBatch, drain_once, pending_entries, write_outbox
from hedgerow.domain.projects import service as projects
from hedgerow.store.base import AnalyticsStore, DistinctIdVersion, PersonVersion
from tests.stores.engines import ENGINES, open_test_store

PERSON = "246f7a43-5507-564f-b687-793ee3c2dd79"


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AnalyticsStore]:
    opened = open_test_store(request.param, tmp_path)
    try:
        yield opened
    finally:
        opened.close()


def _event(i: int, name: str, distinct_id: str) -> CapturedEvent:
    stamp = datetime(2026, 4, 1 + i, 9, 30, tzinfo=UTC)
    return CapturedEvent(f"0190a6f4-0000-7000-8000-00000000000{i}", name, distinct_id, {"i": i}, stamp)


def _applied(events: list[CapturedEvent]) -> AppliedBatch:
    return AppliedBatch(encode_batch(events, datetime(2026, 4, 10, tzinfo=UTC)), [PERSON] * len(events))


def test_outbox_replay_and_listing(database_url: str, store: AnalyticsStore) -> None:
    factory = make_sessionmaker(make_engine(database_url))
    with transaction(factory) as session:
        project_id = projects.initialise(session).project_id
    assert project_id == 1
    events = [_event(i, "click" if i % 2 else "view", "a" if i < 3 else "b") for i in range(6)]
    person = PersonVersion(1, PERSON, '{"k":1}', True, events[0].timestamp, 3)
    with transaction(factory) as session:
        write_outbox(
            session,
            project_id=1,
            batches=[_applied(events)],
            persons=[person],
            distinct_ids=[DistinctIdVersion(1, "a", PERSON, 0), DistinctIdVersion(1, "b", PERSON, 0)],
        )
        # The same batch again, as a crash between the store write and the delete would replay it.
        write_outbox(session, project_id=1, batches=[_applied(events[:2])])
    assert pending_entries(factory) == 2
    assert drain_once(factory, store) == 2
    assert pending_entries(factory) == 0

    def ids(**kwargs: object) -> list[int]:
        return [e["properties"]["i"] for e in list_events(store, EventQuery(project_id=1, **kwargs))]  # type: ignore[arg-type]

    assert ids() == [5, 4, 3, 2, 1, 0]
    assert ids(event="click") == [5, 3, 1]
    assert ids(distinct_ids=["a"]) == [2, 1, 0]
    assert ids(distinct_ids=[]) == []
    assert ids(after=datetime(2026, 4, 2, 9, 30, tzinfo=UTC), before=datetime(2026, 4, 5, tzinfo=UTC)) == [
        3,
        2,
    ]
    assert ids(limit=2, offset=1) == [4, 3]
    first = list_events(store, EventQuery(project_id=1, limit=1))[0]
    assert first == {
        "id": "0190a6f4-0000-7000-8000-000000000005",
        "distinct_id": "b",
        "properties": {"i": 5},
        "event": "click",
        "timestamp": "2026-04-06T09:30:00Z",
        "person": None,
        "person_id": PERSON,
        "elements": [],
        "elements_chain": "",
    }
    assert list_events(store, EventQuery(project_id=2)) == []
