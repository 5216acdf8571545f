"""Cohort calculation through the worker: bookkeeping, errors, leases, retries, the scheduler."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from hedgerow.db.session import engine_of, transaction
from hedgerow.db.types import utcnow
from hedgerow.domain.cohorts.calculation import calculate_cohort
from hedgerow.domain.cohorts.models import Cohort
from hedgerow.domain.jobs.models import Job
from hedgerow.settings import Settings
from hedgerow.store.base import AnalyticsStore, DistinctIdVersion, EventRow, PersonVersion
from hedgerow.worker.jobs import JobContext, JobHandler
from hedgerow.worker.queue import ClaimedJob, JobQueue
from hedgerow.worker.runner import Worker, policy_from
from hedgerow.worker.scheduler import Scheduler
from tests.support import HedgerowClient

PRO = {"key": "plan", "type": "person", "operator": "exact", "value": "pro"}
REGEX_ERROR = (
    "This cohort contains an invalid regular expression. "
    "Please check your regex syntax in the matching criteria."
)


def pid(n: int) -> str:
    return str(uuid.UUID(int=0x2000 + n, version=4))


def seed(store: AnalyticsStore, project_id: int, plans: list[str]) -> None:
    now = datetime.now(UTC)
    store.append_person_versions(
        [
            PersonVersion(project_id, pid(i), json.dumps({"plan": p}), True, now, 1)
            for i, p in enumerate(plans)
        ]
    )
    store.append_distinct_id_versions(
        [DistinctIdVersion(project_id, f"d{i}", pid(i), 1) for i in range(len(plans))]
    )
    store.append_events(
        [
            EventRow(
                str(uuid.uuid4()),
                project_id,
                "$pageview",
                f"d{i}",
                pid(i),
                "{}",
                now - timedelta(hours=i),
                now,
            )
            for i in range(len(plans))
        ]
    )


def criteria(*leaves: dict[str, Any]) -> dict[str, Any]:
    return {"properties": {"type": "AND", "values": list(leaves)}}


def create(hedgerow: HedgerowClient, **body: Any) -> dict[str, Any]:
    response = hedgerow.post(hedgerow.api("cohorts"), json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def fetch(hedgerow: HedgerowClient, cohort_id: int) -> dict[str, Any]:
    result: dict[str, Any] = hedgerow.get(f"{hedgerow.api('cohorts')}{cohort_id}/").json()
    return result


def history(hedgerow: HedgerowClient, cohort_id: int) -> list[dict[str, Any]]:
    body = hedgerow.get(f"{hedgerow.api('cohorts')}{cohort_id}/calculation_history/").json()
    results: list[dict[str, Any]] = body["results"]
    return results


def context(hedgerow: HedgerowClient, **overrides: Any) -> JobContext:
    settings = Settings(**{"job_lease_seconds": 30.0, **overrides})
    return JobContext(hedgerow.app.state.sessionmaker, hedgerow.app.state.store, settings)


def jobs(hedgerow: HedgerowClient) -> list[Job]:
    with transaction(hedgerow.app.state.sessionmaker) as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


@pytest.fixture
def seeded(hedgerow: HedgerowClient) -> Iterator[HedgerowClient]:
    seed(hedgerow.app.state.store, hedgerow.project_id, ["pro", "free", "pro", "pro", "enterprise"])
    yield hedgerow


def test_a_calculation_records_members_version_and_history(seeded: HedgerowClient) -> None:
    cohort = create(seeded, name="Pro", filters=criteria(PRO))
    assert cohort["is_calculating"] is True and cohort["pending_version"] == 1
    assert Worker(context(seeded)).run_one() is True
    body = fetch(seeded, cohort["id"])
    assert (body["count"], body["version"], body["pending_version"]) == (3, 1, 1)
    assert body["is_calculating"] is False and body["errors_calculating"] == 0
    assert body["last_calculation"].endswith("Z") and body["last_error_message"] is None
    [run] = history(seeded, cohort["id"])
    assert run["count"] == 3 and run["is_completed"] is True and run["is_successful"] is True
    assert run["error"] is None and run["filters"] == body["filters"]["properties"]
    assert "persons_latest" in run["main_query"] and isinstance(run["total_query_ms"], int)
    # What the engine scanned (5 person versions at least) and the members it wrote.
    assert run["total_read_rows"] >= 5 and run["total_written_rows"] == 3
    assert run["duration_seconds"] is not None and run["duration_seconds"] >= 0
    members = seeded.app.state.store.cohort_member_ids(seeded.project_id, cohort["id"], 1)
    assert members == sorted([pid(0), pid(2), pid(3)])
    assert [j.status for j in jobs(seeded)] == ["done"]


def test_nested_and_behavioral_criteria_use_the_stored_members(seeded: HedgerowClient) -> None:
    inner = create(seeded, name="Pro", filters=criteria(PRO))
    Worker(context(seeded)).run_one()
    recent = {
        "key": "$pageview",
        "type": "behavioral",
        "value": "performed_event",
        "event_type": "events",
        # Events are 0..4 hours old; 3 hours keeps persons 0 and 2 of the three "pro" ones.
        "time_value": 3,
        "time_interval": "hour",
    }
    outer = create(
        seeded,
        name="Recent pro",
        filters=criteria({"key": "id", "type": "cohort", "value": inner["id"]}, recent),
    )
    Worker(context(seeded)).run_one()
    body = fetch(seeded, outer["id"])
    assert (body["count"], body["is_calculating"]) == (2, False)
    assert seeded.app.state.store.cohort_member_ids(seeded.project_id, outer["id"], 1) == sorted(
        [pid(0), pid(2)]
    )


def test_invalid_regex_is_recorded_and_shown(seeded: HedgerowClient) -> None:
    bad = {"key": "plan", "type": "person", "operator": "regex", "value": "(unclosed"}
    cohort = create(seeded, name="Bad", filters=criteria(bad))
    Worker(context(seeded)).run_one()
    body = fetch(seeded, cohort["id"])
    assert body["is_calculating"] is False
    assert (body["errors_calculating"], body["count"], body["version"]) == (1, None, None)
    assert body["last_error_message"] == REGEX_ERROR
    [run] = history(seeded, cohort["id"])
    assert run["is_completed"] is True and run["is_successful"] is False
    assert "(unclosed" in run["error"] and run["count"] is None
    # The job itself ran to completion: the error belongs to the cohort, retried by the scheduler.
    assert [j.status for j in jobs(seeded)] == ["done"]


def test_a_success_after_errors_resets_the_error_count(seeded: HedgerowClient) -> None:
    bad = {"key": "plan", "type": "person", "operator": "regex", "value": "(unclosed"}
    cohort = create(seeded, name="Bad", filters=criteria(bad))
    Worker(context(seeded)).run_one()
    fixed = seeded.patch(f"{seeded.api('cohorts')}{cohort['id']}/", json={"filters": criteria(PRO)})
    assert fixed.status_code == 200
    Worker(context(seeded)).run_one()
    body = fetch(seeded, cohort["id"])
    assert (body["errors_calculating"], body["count"], body["version"], body["pending_version"]) == (
        0,
        3,
        2,
        2,
    )
    assert body["is_calculating"] is False


def test_an_older_job_is_superseded_by_a_newer_request(seeded: HedgerowClient) -> None:
    cohort = create(seeded, name="Pro", filters=criteria(PRO))
    ctx = context(seeded)
    queue = JobQueue(ctx.factory, policy_from(ctx))
    first = queue.claim("slow-worker")
    assert first is not None and first.payload["pending_version"] == 1
    # While version 1 is being worked on, the criteria change: version 2 is requested.
    changed = {"key": "plan", "type": "person", "operator": "exact", "value": "free"}
    seeded.patch(f"{seeded.api('cohorts')}{cohort['id']}/", json={"filters": criteria(changed)})
    assert Worker(ctx).run_one() is True  # runs version 2
    from hedgerow.domain.cohorts.calculation import calculate_cohort

    late = calculate_cohort(ctx.factory, ctx.store, cohort_id=cohort["id"], pending_version=1)
    assert late.status == "superseded"
    body = fetch(seeded, cohort["id"])
    assert (body["version"], body["count"], body["is_calculating"]) == (2, 1, False)


def test_a_killed_worker_s_job_is_retried_after_its_lease_and_finishes(seeded: HedgerowClient) -> None:
    cohort = create(seeded, name="Pro", filters=criteria(PRO))
    ctx = context(seeded, job_lease_seconds=1.0)
    dead = JobQueue(ctx.factory, policy_from(ctx)).claim("worker-that-dies")
    assert dead is not None  # claimed, then the process is gone: no heartbeat, no completion
    survivor = Worker(ctx, name="survivor")
    assert survivor.run_one() is False  # the lease still holds
    assert fetch(seeded, cohort["id"])["is_calculating"] is True
    time.sleep(1.1)
    assert survivor.run_one() is True
    body = fetch(seeded, cohort["id"])
    assert (body["is_calculating"], body["count"], body["version"]) == (False, 3, 1)
    [job] = jobs(seeded)
    assert (job.status, job.attempts) == ("done", 2)
    # The dead worker's late completion cannot overwrite the job it lost.
    JobQueue(ctx.factory, policy_from(ctx)).complete(dead)
    assert JobQueue(ctx.factory, policy_from(ctx)).heartbeat(dead) is False


def test_concurrent_claimers_never_take_the_same_job(seeded: HedgerowClient) -> None:
    for i in range(8):
        create(seeded, name=f"c{i}", filters=criteria(PRO))
    ctx = context(seeded)
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer(n: int) -> None:
        queue = JobQueue(ctx.factory, policy_from(ctx))
        while (job := queue.claim(f"claimer-{n}")) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(j.id for j in jobs(seeded)) and len(claimed) == 8


def test_an_idle_poll_takes_no_write_lock(hedgerow: HedgerowClient) -> None:
    # Idle workers poll several times a second: with nothing to claim, a poll must not wait
    # for (or take) the database's write lock, which ingestion's writers share.
    ctx = context(hedgerow)
    queue = JobQueue(ctx.factory, policy_from(ctx))
    engine = engine_of(ctx.factory)
    with engine.connect() as other:
        if engine.dialect.name == "sqlite":
            other.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, held by someone else
        else:
            other.execute(select(Job.id).with_for_update())
        started = time.monotonic()
        assert queue.claim("idle") is None
        assert time.monotonic() - started < 2
        other.rollback()
    create(hedgerow, name="due", filters=criteria(PRO))
    job = queue.claim("busy")
    assert job is not None and job.kind == "calculate_cohort"


def test_heartbeats_keep_a_long_job_leased(seeded: HedgerowClient) -> None:
    create(seeded, name="Pro", filters=criteria(PRO))
    ctx = context(seeded, job_lease_seconds=0.6)
    other = Worker(ctx, name="other")
    seen: list[bool] = []

    class Slow:
        def run(self, ctx: JobContext, job: ClaimedJob) -> None:
            time.sleep(1.5)  # longer than the lease; the heartbeat renews it
            seen.append(other.run_one())

        def give_up(self, ctx: JobContext, job: ClaimedJob, error: str) -> None:
            raise AssertionError("not given up")

    handlers: dict[str, JobHandler] = {"calculate_cohort": Slow()}
    assert Worker(ctx, name="slow", handlers=handlers).run_one() is True
    assert seen == [False]
    assert [(j.status, j.attempts) for j in jobs(seeded)] == [("done", 1)]


class Crashing:
    def __init__(self) -> None:
        self.given_up: list[str] = []

    def run(self, ctx: JobContext, job: ClaimedJob) -> None:
        raise ConnectionError("analytics store unreachable")

    def give_up(self, ctx: JobContext, job: ClaimedJob, error: str) -> None:
        from hedgerow.worker.jobs.calculate_cohort import CalculateCohort

        self.given_up.append(error)
        CalculateCohort().give_up(ctx, job, error)


def test_a_failing_job_backs_off_then_is_given_up_and_the_cohort_released(seeded: HedgerowClient) -> None:
    cohort = create(seeded, name="Pro", filters=criteria(PRO))
    ctx = context(seeded, job_retry_base_seconds=60.0, job_max_attempts=2)
    crashing = Crashing()
    worker = Worker(ctx, handlers={"calculate_cohort": crashing})
    before = utcnow()
    assert worker.run_one() is True
    [job] = jobs(seeded)
    assert job.status == "queued" and "analytics store unreachable" in (job.last_error or "")
    assert timedelta(seconds=59) <= job.run_after - before <= timedelta(seconds=62)
    assert worker.run_one() is False  # backing off
    with transaction(ctx.factory) as session:
        session.execute(update(Job).values(run_after=utcnow() - timedelta(seconds=1)))
    assert worker.run_one() is True  # second and last attempt
    [job] = jobs(seeded)
    assert (job.status, job.attempts) == ("failed", 2)
    assert len(crashing.given_up) == 1
    body = fetch(seeded, cohort["id"])
    assert (body["is_calculating"], body["errors_calculating"]) == (False, 1)
    assert history(seeded, cohort["id"])[0]["is_successful"] is False


SEQUENCE = {
    "type": "behavioral",
    "key": "a",
    "value": "performed_event_sequence",
    "event_type": "events",
    "time_value": 1,
    "time_interval": "day",
    "seq_event": "b",
    "seq_event_type": "events",
    "seq_time_value": 1,
    "seq_time_interval": "day",
}
TIMEOUT_MESSAGE = "Cohort calculation was terminated for taking too long."


def test_a_calculation_past_its_time_limit_is_stopped_and_recorded_as_a_timeout(
    seeded: HedgerowClient,
) -> None:
    # A sequence over 12,000 events of one person: about half a second on DuckDB, so a 50 ms
    # limit always stops it.
    store, now = seeded.app.state.store, datetime.now(UTC)
    store.append_events(
        [
            EventRow(
                str(uuid.uuid4()),
                seeded.project_id,
                "a" if k % 2 else "b",
                "d0",
                pid(0),
                "{}",
                now - timedelta(seconds=k),
                now,
            )
            for k in range(12_000)
        ]
    )
    cohort = create(seeded, name="Pro", filters=criteria(PRO))
    assert Worker(context(seeded)).run_one() is True
    assert fetch(seeded, cohort["id"])["count"] == 3
    patched = seeded.patch(f"{seeded.api('cohorts')}{cohort['id']}/", json={"filters": criteria(SEQUENCE)})
    assert patched.status_code == 200, patched.text
    assert Worker(context(seeded, cohort_calculation_timeout_seconds=0.05)).run_one() is True
    body = fetch(seeded, cohort["id"])
    assert (body["is_calculating"], body["errors_calculating"]) == (False, 1)
    assert body["last_error_message"] == TIMEOUT_MESSAGE
    # The previous members stay until a calculation finishes.
    assert (body["count"], body["version"], body["pending_version"]) == (3, 1, 2)
    assert store.cohort_member_ids(seeded.project_id, cohort["id"], 1) == sorted([pid(0), pid(2), pid(3)])
    latest = history(seeded, cohort["id"])[0]
    assert latest["is_completed"] is True and latest["is_successful"] is False
    assert "timeout" in latest["error"] and latest["count"] is None
    assert latest["total_written_rows"] == 0 and latest["total_query_ms"] >= 50  # nothing written
    # Without the limit the same criteria calculate.
    calculate_cohort(seeded.app.state.sessionmaker, store, cohort_id=cohort["id"], pending_version=2)
    body = fetch(seeded, cohort["id"])
    assert (body["count"], body["version"], body["is_calculating"]) == (1, 2, False)


def _age(hedgerow: HedgerowClient, cohort_id: int, **values: Any) -> None:
    with transaction(hedgerow.app.state.sessionmaker) as session:
        session.execute(update(Cohort).where(Cohort.id == cohort_id).values(**values))


def test_scheduler_recalculates_stale_cohorts_oldest_first_within_its_batch(seeded: HedgerowClient) -> None:
    ids = [create(seeded, name=f"c{i}", filters=criteria(PRO))["id"] for i in range(3)]
    ctx = context(seeded, scheduler_batch_size=2)
    while Worker(ctx).run_one():
        pass
    now = utcnow()
    _age(seeded, ids[0], last_calculation=now - timedelta(minutes=20))
    _age(seeded, ids[1], last_calculation=now - timedelta(minutes=40))
    _age(seeded, ids[2], last_calculation=now - timedelta(minutes=5))
    assert Scheduler(ctx, {}).run_once() == [ids[1], ids[0]]
    assert Scheduler(ctx, {}).run_once() == []  # both still queued: the batch is full
    body = fetch(seeded, ids[1])
    assert (body["pending_version"], body["is_calculating"]) == (2, True)
    while Worker(ctx).run_one():
        pass
    assert fetch(seeded, ids[1])["version"] == 2 and fetch(seeded, ids[2])["version"] == 1


def test_scheduler_backs_off_failing_cohorts_and_skips_hopeless_ones(seeded: HedgerowClient) -> None:
    ids = [create(seeded, name=f"c{i}", filters=criteria(PRO))["id"] for i in range(3)]
    ctx = context(seeded)
    while Worker(ctx).run_one():
        pass
    now = utcnow()
    old = now - timedelta(hours=5)
    # 2 errors -> wait 30 min x 4 = 2 h: 1 h ago is too soon, 3 h ago is due.
    _age(seeded, ids[0], last_calculation=old, errors_calculating=2, last_error_at=now - timedelta(hours=1))
    _age(seeded, ids[1], last_calculation=old, errors_calculating=2, last_error_at=now - timedelta(hours=3))
    _age(seeded, ids[2], last_calculation=old, errors_calculating=21, last_error_at=now - timedelta(days=400))
    assert Scheduler(ctx, {}).run_once() == [ids[1]]


def test_a_cohort_left_calculating_without_a_job_is_requeued(seeded: HedgerowClient) -> None:
    cohort = create(seeded, name="Pro", filters=criteria(PRO))
    with transaction(seeded.app.state.sessionmaker) as session:
        session.execute(update(Job).values(status="failed"))
    ctx = context(seeded)
    assert Worker(ctx).run_one() is False
    Scheduler(ctx, {}).run_once()
    assert Worker(ctx).run_one() is True
    body = fetch(seeded, cohort["id"])
    assert (body["is_calculating"], body["count"], body["version"]) == (False, 3, 1)


def test_a_deleted_cohort_left_calculating_is_released(seeded: HedgerowClient) -> None:
    cohort = create(seeded, name="Pro", filters=criteria(PRO))
    _age(seeded, cohort["id"], deleted=True)
    with transaction(seeded.app.state.sessionmaker) as session:
        session.execute(update(Job).values(status="failed"))
    Scheduler(context(seeded), {}).run_once()
    body = fetch(seeded, cohort["id"])
    assert (body["deleted"], body["is_calculating"], body["version"]) == (True, False, None)
    assert [j.status for j in jobs(seeded)] == ["failed"]


def test_embedded_workers_calculate_inside_the_server(
    hedgerow: HedgerowClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEDGEROW_EMBEDDED_WORKERS", "2")
    # Polls far apart: only the wake-up on commit can make the calculation this prompt.
    monkeypatch.setenv("HEDGEROW_WORKER_POLL_SECONDS", "60")
    hedgerow.http.__exit__(None, None, None)  # the default client holds the DuckDB file
    with HedgerowClient.start() as server:
        seed(server.app.state.store, server.project_id, ["pro", "free", "pro"])
        started = time.monotonic()
        cohort = create(server, name="Pro", filters=criteria(PRO))
        while fetch(server, cohort["id"])["is_calculating"] and time.monotonic() - started < 10:
            time.sleep(0.02)
        body = fetch(server, cohort["id"])
        assert (body["is_calculating"], body["count"]) == (False, 2)


def test_a_calculation_counts_events_captured_just_before_it(hedgerow: HedgerowClient) -> None:
    """Captures answered 200 but not yet copied to the analytics store are caught up first."""
    replicator = hedgerow.app.state.replicator
    replicator._stop.set()  # hold the background copy so the capture stays queued
    replicator._wake.set()
    replicator._thread.join(timeout=30)
    batch = [
        {"event": "signed_up", "distinct_id": f"fresh{i}", "properties": {"$set": {"plan": "pro"}}}
        for i in range(3)
    ]
    captured = hedgerow.post(
        "/batch/", auth=False, json={"api_key": hedgerow.init.project_api_token, "batch": batch}
    )
    assert captured.status_code == 200, captured.text
    performed = {
        "key": "signed_up",
        "type": "behavioral",
        "value": "performed_event",
        "event_type": "events",
        "time_value": 7,
        "time_interval": "day",
    }
    cohort = create(hedgerow, name="fresh", filters=criteria(PRO, performed))
    ctx = context(hedgerow)
    ctx = JobContext(ctx.factory, ctx.store, ctx.settings, catch_up=replicator.drain)
    assert Worker(ctx).run_one() is True
    body = fetch(hedgerow, cohort["id"])
    assert (body["is_calculating"], body["count"]) == (False, 3)
