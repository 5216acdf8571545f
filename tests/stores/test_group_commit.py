"""The DuckDB writer thread: writes queued together share one transaction, and fail alone."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pytest

from hedgerow.store.group_commit import GroupCommitWriter


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(tmp_path / "writer.duckdb"))
    connection.execute("CREATE TABLE t (n INTEGER NOT NULL)")
    try:
        yield connection
    finally:
        connection.close()


def insert(n: int | None) -> Any:
    return lambda c: c.execute("INSERT INTO t VALUES ($n)", {"n": n}) and n


def rows(conn: duckdb.DuckDBPyConnection) -> list[int]:
    return [r[0] for r in conn.execute("SELECT n FROM t ORDER BY n").fetchall()]


def hold_writer(writer: GroupCommitWriter) -> tuple[threading.Event, threading.Thread]:
    """Occupy the writer so that the next submissions queue up behind it."""
    release, started = threading.Event(), threading.Event()

    def blocker(c: Any) -> None:
        started.set()
        release.wait(10)

    thread = threading.Thread(target=writer.submit, args=(blocker,))
    thread.start()
    started.wait(10)
    return release, thread


def wait_queued(writer: GroupCommitWriter, count: int) -> None:
    for _ in range(1000):
        if writer._queue.qsize() >= count:
            return
        threading.Event().wait(0.005)
    raise AssertionError("submissions did not queue")


def test_queued_writes_commit_in_one_transaction(conn: duckdb.DuckDBPyConnection) -> None:
    writer = GroupCommitWriter(conn.cursor())
    release, holder = hold_writer(writer)
    with ThreadPoolExecutor(5) as pool:
        futures = [pool.submit(writer.submit, insert(n)) for n in range(5)]
        wait_queued(writer, 5)
        release.set()
        assert sorted(f.result() for f in futures) == [0, 1, 2, 3, 4]
    holder.join()
    assert writer.transactions == 2  # the holder's, then the five queued behind it
    assert writer.operations == 6
    writer.close()
    assert rows(conn) == [0, 1, 2, 3, 4]


def test_a_failing_write_fails_alone(conn: duckdb.DuckDBPyConnection) -> None:
    writer = GroupCommitWriter(conn.cursor())
    release, holder = hold_writer(writer)
    with ThreadPoolExecutor(4) as pool:
        good = [pool.submit(writer.submit, insert(n)) for n in (1, 2, 3)]
        wait_queued(writer, 3)
        bad = pool.submit(writer.submit, insert(None))  # violates NOT NULL
        wait_queued(writer, 4)
        release.set()
        assert sorted(f.result() for f in good) == [1, 2, 3]
        with pytest.raises(duckdb.ConstraintException):
            bad.result()
    holder.join()
    writer.close()
    assert rows(conn) == [1, 2, 3]


def test_batches_under_one_key_are_applied_together(conn: duckdb.DuckDBPyConnection) -> None:
    writer = GroupCommitWriter(conn.cursor())
    applied: list[list[int]] = []

    def apply(c: Any, payloads: list[list[int]]) -> None:
        applied.append([n for payload in payloads for n in payload])
        c.execute("INSERT INTO t SELECT unnest($ns)", {"ns": applied[-1]})

    release, holder = hold_writer(writer)
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(writer.submit_batch, "t", [n, n + 10], apply) for n in range(3)]
        wait_queued(writer, 3)
        release.set()
        for f in futures:
            f.result()
    holder.join()
    writer.close()
    assert [sorted(group) for group in applied] == [[0, 1, 2, 10, 11, 12]]
    assert rows(conn) == [0, 1, 2, 10, 11, 12]


def test_a_closed_writer_refuses_writes(conn: duckdb.DuckDBPyConnection) -> None:
    writer = GroupCommitWriter(conn.cursor())
    writer.submit(insert(1))
    writer.close()
    writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit(insert(2))
    assert rows(conn) == [1]
