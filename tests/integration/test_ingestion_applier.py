"""The ingestion applier process `hedgerow serve` starts beside itself: it applies what capture
accepts, readers still see every event answered 200, and if it dies the server applies alone."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hedgerow.domain.ingestion import replicator as replicator_module
from hedgerow.domain.ingestion.applier import ApplierProcess
from hedgerow.domain.ingestion.queue import queued_batches
from tests.support import HedgerowClient, app_environment


@pytest.fixture
def with_applier(
    database_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[HedgerowClient]:
    app_environment(monkeypatch, database_url, data_dir)
    monkeypatch.setenv("HEDGEROW_INGESTION_APPLIER", "process")
    with HedgerowClient.start() as client:
        yield client


def _ready(hedgerow: HedgerowClient) -> ApplierProcess:
    """The app's applier process, once ready: started and reaching the metadata store (until
    then the server applies batches itself)."""
    applier: ApplierProcess = hedgerow.app.state.applier
    deadline = time.monotonic() + 60
    while not applier.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    return applier


def _send(hedgerow: HedgerowClient, events: list[dict[str, Any]]) -> None:
    body = {"api_key": hedgerow.init.project_api_token, "batch": events}
    response = hedgerow.http.post("/batch/", json=body)
    assert response.status_code == 200, response.text


def _batch(prefix: str, size: int) -> list[dict[str, Any]]:
    return [
        {
            "event": "$pageview",
            "distinct_id": f"{prefix}-{i % 5}",
            "uuid": str(uuid.uuid4()),
            "properties": {"$set": {"n": i}},
        }
        for i in range(size)
    ]


def _stored(hedgerow: HedgerowClient) -> set[str]:
    response = hedgerow.get(hedgerow.api("events"), params={"limit": 10_000})
    assert response.status_code == 200, response.text
    return {e["id"] for e in response.json()["results"]}


def test_the_applier_process_applies_captures_and_readers_see_them(with_applier: HedgerowClient) -> None:
    applier = _ready(with_applier)
    assert applier.alive()
    sent: list[str] = []
    for n in range(20):
        batch = _batch(f"u{n % 3}", 50)
        _send(with_applier, batch)
        sent += [e["uuid"] for e in batch]
    # The events API waits for every batch answered 200 before it: applied by the child, copied here.
    assert _stored(with_applier) >= set(sent)
    assert queued_batches(with_applier.app.state.sessionmaker) == 0
    people = with_applier.get(with_applier.api("persons")).json()["results"]
    assert len(people) == 15 and {p["properties"]["n"] for p in people} == {45, 46, 47, 48, 49}


def test_when_the_applier_process_dies_the_server_applies_alone(with_applier: HedgerowClient) -> None:
    applier = _ready(with_applier)
    process = applier._process
    assert process is not None
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert not applier.alive()
    batch = _batch("after", 30)
    _send(with_applier, batch)
    assert _stored(with_applier) >= {e["uuid"] for e in batch}
    assert queued_batches(with_applier.app.state.sessionmaker) == 0


def test_a_reader_applies_by_itself_when_the_applier_process_makes_no_progress(
    with_applier: HedgerowClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replicator_module, "STALL_SECONDS", 0.5)
    process = _ready(with_applier)._process
    assert process is not None
    _stored(with_applier)  # nothing left queued before the applier is frozen
    os.kill(process.pid, signal.SIGSTOP)
    try:
        batch = _batch("frozen", 10)
        _send(with_applier, batch)
        started = time.monotonic()
        assert _stored(with_applier) >= {e["uuid"] for e in batch}
        # It waited for the (alive, frozen) applier first, then applied the batch itself.
        assert time.monotonic() - started >= 0.5
    finally:
        os.kill(process.pid, signal.SIGCONT)
