"""`hedgerow worker` as its own process: it calculates queued cohorts, stops cleanly on SIGTERM,
and when one is killed mid-calculation the next takes the job over once the lease runs out."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hedgerow.db.session import make_engine, make_sessionmaker, transaction
from hedgerow.domain.cohorts.models import Cohort, CohortCalculationHistory
from hedgerow.domain.jobs.models import Job
from hedgerow.store.base import DistinctIdVersion, EventRow, PersonVersion
from tests.integration.test_worker import SEQUENCE
from tests.support import HedgerowClient

PRO = {"key": "plan", "type": "person", "operator": "exact", "value": "pro"}


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hedgerow", "worker", "--threads", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _cohort(url: str, cohort_id: int) -> Cohort:
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            row = session.scalars(select(Cohort).where(Cohort.id == cohort_id)).one()
            session.expunge(row)
            return row
    finally:
        engine.dispose()


def _wait(predicate: Any, timeout: float = 60.0, describe: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out: {describe()}" if describe is not None else "timed out")


@pytest.fixture
def queued(hedgerow: HedgerowClient, database_url: str) -> dict[str, Any]:
    """A dynamic cohort waiting for its calculation, with the server stopped (it held the DuckDB file)."""
    store = hedgerow.app.state.store
    ids = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(4)]
    store.append_person_versions(
        [
            PersonVersion(
                hedgerow.project_id, p, json.dumps({"plan": plan}), True, datetime(2024, 1, 1, tzinfo=UTC), 1
            )
            for p, plan in zip(ids, ["pro", "free", "pro", "pro"], strict=True)
        ]
    )
    store.append_distinct_id_versions(
        [DistinctIdVersion(hedgerow.project_id, f"d{i}", p, 1) for i, p in enumerate(ids)]
    )
    response = hedgerow.post(
        hedgerow.api("cohorts"),
        json={"name": "Pro", "filters": {"properties": {"type": "AND", "values": [PRO]}}},
    )
    assert response.status_code == 201, response.text
    hedgerow.http.__exit__(None, None, None)
    env = {**os.environ, "HEDGEROW_WORKER_POLL_SECONDS": "0.1", "HEDGEROW_JOB_LEASE_SECONDS": "1"}
    return {"id": response.json()["id"], "env": env, "url": database_url}


def test_worker_process_calculates_and_stops_on_sigterm(queued: dict[str, Any]) -> None:
    process = _worker(queued["env"])
    try:
        _wait(lambda: not _cohort(queued["url"], queued["id"]).is_calculating)
        row = _cohort(queued["url"], queued["id"])
        assert (row.count, row.version, row.errors_calculating) == (3, 1, 0)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err.decode()
    assert b"worker running 1 thread" in out


@pytest.fixture
def slow_queued(hedgerow: HedgerowClient, database_url: str) -> dict[str, Any]:
    """A cohort whose calculation takes a while (a sequence over thousands of event pairs)."""
    store = hedgerow.app.state.store
    person = "00000000-0000-4000-8000-0000000000aa"
    now = datetime.now(UTC)
    store.append_person_versions([PersonVersion(hedgerow.project_id, person, "{}", True, now, 1)])
    store.append_distinct_id_versions([DistinctIdVersion(hedgerow.project_id, "slow", person, 1)])
    store.append_events(
        [
            EventRow(
                str(uuid.UUID(int=k + 1, version=4)),
                hedgerow.project_id,
                "a" if k % 2 else "b",
                "slow",
                person,
                "{}",
                now - timedelta(seconds=k),
                now,
            )
            for k in range(40_000)
        ]
    )
    response = hedgerow.post(
        hedgerow.api("cohorts"),
        json={"name": "Slow", "filters": {"properties": {"type": "AND", "values": [SEQUENCE]}}},
    )
    assert response.status_code == 201, response.text
    hedgerow.http.__exit__(None, None, None)
    env = {**os.environ, "HEDGEROW_WORKER_POLL_SECONDS": "0.05", "HEDGEROW_JOB_LEASE_SECONDS": "2"}
    return {"id": response.json()["id"], "env": env, "url": database_url}


def _job(url: str) -> tuple[str, str | None, int]:
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            job = session.scalars(select(Job)).one()
            return job.status, job.lease_owner, job.attempts
    finally:
        engine.dispose()


def _open_runs(url: str) -> int:
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            return len(
                session.scalars(
                    select(CohortCalculationHistory).where(CohortCalculationHistory.finished_at.is_(None))
                ).all()
            )
    finally:
        engine.dispose()


def test_a_worker_killed_mid_calculation_is_retried_after_its_lease(slow_queued: dict[str, Any]) -> None:
    url = slow_queued["url"]
    victim = _worker(slow_queued["env"])
    try:
        # The job is claimed first and the run's history row opened just after: kill once both are
        # in, so the victim dies inside the engine query.
        _wait(
            lambda: _job(url)[0] == "running" and _open_runs(url) == 1,
            timeout=60,
            # If this times out, say whether the run ended before it was seen, or never started.
            describe=lambda: f"job {_job(url)}, open runs {_open_runs(url)}, worker exit {victim.poll()}",
        )
    finally:
        victim.kill()  # SIGKILL mid-calculation: no clean-up, the lease is left to expire
        victim.wait(timeout=30)
    status, owner, attempts = _job(url)
    assert (status, attempts) == ("running", 1) and owner is not None
    assert _cohort(url, slow_queued["id"]).is_calculating is True
    survivor = _worker(slow_queued["env"])
    try:
        _wait(lambda: not _cohort(url, slow_queued["id"]).is_calculating, timeout=120)
    finally:
        survivor.send_signal(signal.SIGTERM)
        survivor.communicate(timeout=60)
    status, owner, attempts = _job(url)
    assert (status, attempts) == ("done", 2)
    row = _cohort(url, slow_queued["id"])
    assert (row.count, row.version, row.errors_calculating) == (1, 1, 0)
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as session:
        runs = session.scalars(
            select(CohortCalculationHistory).order_by(CohortCalculationHistory.started_at)
        ).all()
        assert [(r.error_code, r.count) for r in runs] == [("interrupted", None), (None, 1)]
    engine.dispose()
