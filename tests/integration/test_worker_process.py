"""`hedgerow worker` as its own process: it calculates queued cohorts and stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from hedgerow.db.session import make_engine, make_sessionmaker, transaction
from hedgerow.domain.cohorts.models import Cohort
from hedgerow.store.base import DistinctIdVersion, PersonVersion
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


def _wait(predicate: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


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
