"""A 200 from capture means durable: SIGKILL right after it loses nothing."""

from __future__ import annotations

import signal
import sqlite3
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import first_run_credentials, free_port, start_server

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _children(pid: int) -> list[int]:
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def _exited(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def test_sigkill_after_200_loses_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    port = free_port()
    server = start_server(data_dir, port=port)
    token, key, project_id = first_run_credentials(server)
    sent: list[str] = []
    try:
        for batch_number, size in enumerate([200, 200, 200, 200, 3000]):
            batch = [
                {"event": f"e{batch_number}", "distinct_id": f"user-{i % 7}", "uuid": str(uuid.uuid4())}
                for i in range(size)
            ]
            response = httpx.post(f"{server.url}/batch/", json={"api_key": token, "batch": batch}, timeout=30)
            assert response.status_code == 200, response.text
            sent.extend(e["uuid"] for e in batch)
        applier = _children(server.process.pid)  # the ingestion applier process
    finally:
        # No graceful shutdown: the replicator gets no chance to finish.
        server.stop(signal.SIGKILL)
    assert server.process.returncode == -signal.SIGKILL
    # The applier notices its parent is gone and stops on its own: nothing is left running.
    assert len(applier) == 1
    deadline = time.monotonic() + 30
    while not _exited(applier[0]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _exited(applier[0])
    with sqlite3.connect(data_dir / "hedgerow.sqlite3") as db:
        (pending,) = db.execute(
            "SELECT (SELECT count(*) FROM ingestion_queue) + (SELECT count(*) FROM ingestion_outbox)"
        ).fetchone()
    # The last (large) batch was still waiting to be applied when the process died: the restart
    # must replay it from the queue.
    assert pending >= 1

    restarted = start_server(data_dir, port=free_port())
    try:
        response = httpx.get(
            f"{restarted.url}/api/projects/{project_id}/events/",
            params={"limit": 5000},
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        stored = [e["id"] for e in response.json()["results"]]
        assert sorted(stored) == sorted(sent)
        persons = httpx.get(
            f"{restarted.url}/api/projects/{project_id}/persons/",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        ).json()["results"]
        assert len(persons) == 7
    finally:
        restarted.stop()
    # A clean stop stops the applier process cleanly too (it once aborted at interpreter exit).
    log = restarted.log.read_text()
    assert "Fatal Python error" not in log and "Traceback" not in log, log
