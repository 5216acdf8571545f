"""Deleting persons with `delete_events` (persons API): the person goes at once, its events once
the queued job has run; without the flag the events stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from hedgerow.db.session import transaction
from hedgerow.db.types import uuid7
from hedgerow.domain.ingestion.batch_format import encode_batch
from hedgerow.domain.ingestion.events import CapturedEvent
from hedgerow.domain.ingestion.outbox import AppliedBatch, write_outbox
from hedgerow.domain.jobs.models import Job
from hedgerow.domain.persons import event_deletion
from hedgerow.domain.persons.changes import bulk_delete_persons
from hedgerow.worker.jobs import JobContext
from hedgerow.worker.runner import Worker
from tests.integration.test_cohorts_static_criteria import context, run_jobs
from tests.integration.test_persons_merges import by_distinct_id, persons, send
from tests.support import HedgerowClient, assert_error


def _seed(hedgerow: HedgerowClient) -> None:
    send(
        hedgerow,
        *[
            {"event": f"{who}-{i}", "distinct_id": who, "timestamp": f"2026-01-0{i + 1}T00:00:00Z"}
            for who in ("ann", "bob", "cat")
            for i in range(2)
        ],
    )


def _events(hedgerow: HedgerowClient) -> list[str]:
    response = hedgerow.get(hedgerow.api("events"))
    assert response.status_code == 200, response.text
    return sorted(e["event"] for e in response.json()["results"])


def _delete(hedgerow: HedgerowClient, distinct_id: str, query: str = "") -> Any:
    person = by_distinct_id(hedgerow, distinct_id)
    return hedgerow.delete(hedgerow.api("persons") + person["uuid"] + "/" + query)


EVERYONE = ["ann-0", "ann-1", "bob-0", "bob-1", "cat-0", "cat-1"]


def test_delete_events_removes_the_persons_events_once_the_job_has_run(hedgerow: HedgerowClient) -> None:
    _seed(hedgerow)
    assert _delete(hedgerow, "bob", "?delete_events=true&delete_recordings=true").status_code == 202
    assert "bob" not in [p["distinct_ids"][0] for p in persons(hedgerow)]
    assert _events(hedgerow) == EVERYONE  # queued, as PostHog's AsyncDeletion: not deleted yet
    assert run_jobs(context(hedgerow)) == 1
    assert _events(hedgerow) == ["ann-0", "ann-1", "cat-0", "cat-1"]


def test_without_the_flag_or_with_false_the_events_stay(hedgerow: HedgerowClient) -> None:
    _seed(hedgerow)
    assert _delete(hedgerow, "bob").status_code == 202
    assert _delete(hedgerow, "ann", "?delete_events=false").status_code == 202
    response = hedgerow.post(
        hedgerow.api("persons") + "bulk_delete/", json={"distinct_ids": ["cat"], "delete_events": False}
    )
    assert response.status_code == 202
    assert persons(hedgerow) == []
    assert run_jobs(context(hedgerow)) == 0
    assert _events(hedgerow) == EVERYONE


@pytest.mark.parametrize("where", ["body", "query"])
def test_bulk_delete_with_the_flag(hedgerow: HedgerowClient, where: str) -> None:
    _seed(hedgerow)
    ids = [by_distinct_id(hedgerow, d)["uuid"] for d in ("ann", "cat")]
    url = hedgerow.api("persons") + "bulk_delete/"
    if where == "body":
        response = hedgerow.post(url, json={"ids": ids, "delete_events": True})
    else:
        response = hedgerow.post(url + "?delete_events=true", json={"ids": ids})
    assert response.status_code == 202
    assert run_jobs(context(hedgerow)) == 1
    assert _events(hedgerow) == ["bob-0", "bob-1"]


def test_a_bad_flag_is_refused_and_nothing_is_deleted(hedgerow: HedgerowClient) -> None:
    _seed(hedgerow)
    refused = _delete(hedgerow, "bob", "?delete_events=maybe")
    assert_error(refused, 400, type="validation_error", code="invalid", attr="delete_events")
    url = hedgerow.api("persons") + "bulk_delete/"
    for bad in ([1], {"x": 1}, "sometimes", 2):
        refused = hedgerow.post(url, json={"distinct_ids": ["ann"], "delete_events": bad})
        assert_error(refused, 400, type="validation_error", code="invalid", attr="delete_events")
    refused = hedgerow.post(url + "?delete_events=nah", json={"distinct_ids": ["ann"]})
    assert_error(refused, 400, type="validation_error", code="invalid", attr="delete_events")
    assert len(persons(hedgerow)) == 3
    assert run_jobs(context(hedgerow)) == 0
    # A bare parameter counts, as PostHog tests only that it is there.
    assert _delete(hedgerow, "cat", "?delete_events").status_code == 202
    assert run_jobs(context(hedgerow)) == 1
    assert _events(hedgerow) == ["ann-0", "ann-1", "bob-0", "bob-1"]


def test_events_sent_after_the_deletion_survive_the_job(hedgerow: HedgerowClient) -> None:
    _seed(hedgerow)
    bob = by_distinct_id(hedgerow, "bob")
    assert _delete(hedgerow, "bob", "?delete_events=1").status_code == 202
    send(hedgerow, {"event": "bob-back", "distinct_id": "bob"})
    assert by_distinct_id(hedgerow, "bob")["uuid"] == bob["uuid"]  # the same UUIDv5 again
    assert run_jobs(context(hedgerow)) == 1
    assert _events(hedgerow) == ["ann-0", "ann-1", "bob-back", "cat-0", "cat-1"]


def _leave_in_outbox(hedgerow: HedgerowClient, person_uuid: str) -> None:
    """An outbox entry not copied yet, as another process may be copying it at this moment."""
    late = CapturedEvent(str(uuid7()), "bob-late", "bob", {}, datetime(2026, 1, 5, tzinfo=UTC))
    batch = AppliedBatch(encode_batch([late], datetime.now(UTC)), [person_uuid])
    with transaction(hedgerow.app.state.sessionmaker) as session:
        write_outbox(session, project_id=hedgerow.project_id, batches=[batch])


def test_the_job_waits_for_events_still_on_their_way(
    hedgerow: HedgerowClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(hedgerow)
    bob = by_distinct_id(hedgerow, "bob")
    replicator = hedgerow.app.state.replicator
    replicator.stop()  # nothing copies the outbox behind the test's back
    _leave_in_outbox(hedgerow, bob["uuid"])
    factory = hedgerow.app.state.sessionmaker
    with transaction(factory) as session:
        bulk_delete_persons(session, project_id=hedgerow.project_id, uuids=[bob["uuid"]], delete_events=True)
    monkeypatch.setattr(event_deletion, "OUTBOX_WAIT_SECONDS", 0.0)
    state = hedgerow.app.state
    not_copying = JobContext(state.sessionmaker, state.store, context(hedgerow).settings)
    assert Worker(not_copying).run_one() is True
    with factory() as session:
        job = session.scalars(select(Job)).one()
    assert job.status == "queued" and "not copied yet" in (job.last_error or "")  # retried later
    with transaction(factory) as session:
        session.execute(update(Job).values(run_after=datetime.now(UTC) - timedelta(seconds=1)))
    assert run_jobs(context(hedgerow)) == 1  # copies the outbox first, then deletes
    assert _events(hedgerow) == ["ann-0", "ann-1", "cat-0", "cat-1"]
