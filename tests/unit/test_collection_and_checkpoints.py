"""Housekeeping of the ingestion path: cycle collection between applier groups, and SQLite
checkpoints in a thread of their own."""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from hedgerow.db.checkpoints import Checkpointer
from hedgerow.db.session import make_engine
from hedgerow.domain.ingestion.applier import GroupCollector


class _Cycle:
    def __init__(self) -> None:
        self.me: Any = self


@pytest.fixture
def collection_restored() -> Any:
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_the_collector_runs_only_between_groups_and_still_frees_cycles(collection_restored: Any) -> None:
    gc.collect()
    collector = GroupCollector(young=1_000)
    assert not gc.isenabled()
    passes: list[int] = []

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            passes.append(info["generation"])

    gc.callbacks.append(count)
    try:
        garbage = [_Cycle() for _ in range(5_000)]  # far beyond the interpreter's own threshold
        del garbage
        assert passes == []  # nothing collected in the middle of a group
        collector.after_group()
        assert passes, "a group that left garbage behind is followed by a pass"
        assert not any(isinstance(o, _Cycle) for o in gc.get_objects())
        passes.clear()
        collector.after_group()
        assert passes == []  # nothing new since: no pass
    finally:
        gc.callbacks.remove(count)
        collector.close()
    assert gc.isenabled()


def test_the_server_engine_leaves_checkpoints_to_the_checkpointer(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    wal = Path(f"{path}-wal")
    engine = make_engine(f"sqlite:///{path}", checkpoints=False)
    assert Checkpointer.wanted(f"sqlite:///{path}")
    assert not Checkpointer.wanted("sqlite://")
    assert not Checkpointer.wanted("postgresql+psycopg://u@localhost/db")
    blob = b"x" * 8192
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB)"))
    for _ in range(700):  # some 2,800 pages, beyond SQLite's own 1,000-page automatic checkpoint
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t (data) VALUES (:d)"), {"d": blob})
    # No commit copied the log back into the database.
    assert wal.stat().st_size > 2_000 * 4096
    assert path.stat().st_size < 100 * 1024
    checkpointer = Checkpointer(engine, interval=0.01)
    checkpointer.start()
    try:
        deadline = time.monotonic() + 10
        while path.stat().st_size < 700 * 8192 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert path.stat().st_size >= 700 * 8192
    finally:
        checkpointer.stop()
        engine.dispose()
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT count(*) FROM t").fetchone() == (700,)


class _InstantStop(threading.Event):
    """A stop event whose pauses return at once."""

    def wait(self, timeout: float | None = None) -> bool:
        return self.is_set()


def test_the_applier_loop_collects_after_failed_groups_too(
    monkeypatch: pytest.MonkeyPatch, collection_restored: Any
) -> None:
    from hedgerow.domain.ingestion import applier

    gc.collect()
    stop = _InstantStop()
    calls = 0

    def failing(factory: Any, *, max_batches: int) -> int:
        nonlocal calls
        calls += 1
        garbage = [_Cycle() for _ in range(2_000)]
        del garbage
        if calls == 5:
            stop.set()
        raise RuntimeError("the metadata store is unreachable")

    monkeypatch.setattr(applier, "apply_queued", failing)
    collector = GroupCollector(young=1_000)
    try:
        applier.run_applier(None, stop, collector=collector)  # type: ignore[arg-type]
        assert calls == 5
        # Checked before automatic collection is back on: it would free them itself.
        assert not any(isinstance(o, _Cycle) for o in gc.get_objects())
    finally:
        collector.close()
