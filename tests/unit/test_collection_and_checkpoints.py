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


def _grow_log(engine: Any, rows: int) -> None:
    blob = b"x" * 8192
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, data BLOB)"))
    for _ in range(rows):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t (data) VALUES (:d)"), {"d": blob})


def _log_frames(engine: Any) -> int:
    """The frames the log holds now (a passive checkpoint reports them)."""
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()[1])


def test_a_log_past_its_limit_is_restarted_and_nothing_is_lost(tmp_path: Path) -> None:
    # Passive checkpoints copy the log back but never restart it; past the limit the checkpointer
    # restarts it, even while a reader is using it, once that reader is done.
    path = tmp_path / "meta.db"
    wal = Path(f"{path}-wal")
    engine = make_engine(f"sqlite:///{path}", checkpoints=False)
    checkpointer = Checkpointer(engine, interval=10, wal_limit=1024 * 1024)
    try:
        _grow_log(engine, 300)  # ~2.5 MB of log
        reader = sqlite3.connect(path, isolation_level=None)
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM t").fetchone() == (300,)  # a snapshot in the log
        _grow_log(engine, 10)
        started = time.monotonic()
        checkpointer.checkpoint()  # the reader still uses the log: give up at once, keep it all
        assert time.monotonic() - started < 2
        assert _log_frames(engine) > 600
        reader.execute("COMMIT")
        reader.close()
        checkpointer.checkpoint()
        size = wal.stat().st_size
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 310
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
        _grow_log(engine, 5)  # writers carry on from the start of the log, over the old frames
        assert 0 < _log_frames(engine) < 100
        assert wal.stat().st_size == size
        checkpointer.checkpoint()  # a short log is left alone
        assert _log_frames(engine) > 0
        checkpointer.stop()  # which empties the file
        assert wal.stat().st_size == 0
    finally:
        engine.dispose()
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT count(*) FROM t").fetchone() == (315,)


def test_deleting_a_large_row_does_not_write_its_pages_again(tmp_path: Path) -> None:
    # Where SQLite is built to zero every freed page, deleting a copied capture batch wrote its
    # pages into the log a second time; the metadata store's connections turn that off for the
    # overflow pages (those of a row larger than a page), which nobody reads again.
    path = tmp_path / "meta.db"
    wal = Path(f"{path}-wal")
    engine = make_engine(f"sqlite:///{path}", checkpoints=False)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB)"))
            connection.execute(text("INSERT INTO t (data) VALUES (:d)"), {"d": b"x" * 1024 * 1024})
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert wal.stat().st_size == 0
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM t"))
        assert wal.stat().st_size < 64 * 1024  # not the megabyte's 256 pages again
    finally:
        engine.dispose()


def test_an_engine_can_give_its_connections_a_larger_page_cache(tmp_path: Path) -> None:
    # The ingestion applier's: the persons it rewrites group after group stay in memory.
    larger = make_engine(f"sqlite:///{tmp_path / 'a.db'}", cache_mib=64)
    default = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        with larger.connect() as connection:
            assert connection.execute(text("PRAGMA cache_size")).scalar() == -64 * 1024
        with default.connect() as connection:
            assert connection.execute(text("PRAGMA cache_size")).scalar() == -2000
    finally:
        larger.dispose()
        default.dispose()
