"""Selecting a cohort's members on DuckDB: on a cursor of its own, profiled for what it read,
and interrupted when it outlives its time limit (DuckDB has no statement timeout of its own)."""

from __future__ import annotations

import contextlib
import json
import threading

import duckdb
import pyarrow as pa

from hedgerow.store.base import CompiledQuery, QueryTimeout, named_params

_TRACKED = "['query.total_rows_scanned', 'system.peak_buffer_memory']"


def select_members(
    conn: duckdb.DuckDBPyConnection, members: CompiledQuery, timeout_seconds: float | None
) -> tuple[pa.Table, int | None, int | None]:
    """Run the members query on its own cursor, profiled (for the rows it read) and stopped by
    an interrupt if it outlives `timeout_seconds` (DuckDB has no statement timeout of its own)."""
    cursor = conn.cursor()
    finished = threading.Event()
    timed_out = threading.Event()
    watchdog = None
    try:
        cursor.execute("SET enable_profiling = 'no_output'")
        with contextlib.suppress(duckdb.Error):  # DuckDB 2.0+; older releases profile everything
            cursor.execute(f"SET tracked_metrics = {_TRACKED}")
        if timeout_seconds:
            watchdog = threading.Thread(
                target=_interrupt_after,
                args=(cursor, timeout_seconds, finished, timed_out),
                name="duckdb-query-timeout",
                daemon=True,
            )
            watchdog.start()
        try:
            selected = cursor.sql(
                f"SELECT DISTINCT m.person_id::VARCHAR AS person_id FROM ({members.sql}) AS m(person_id)"
                " WHERE m.person_id IS NOT NULL",
                params=named_params(members),
            ).to_arrow_table()
        except duckdb.InterruptException as exc:
            if timed_out.is_set():
                raise QueryTimeout(timeout_seconds or 0) from exc
            raise
        read_rows, memory_mb = _profiled(cursor)
        return selected, read_rows, memory_mb
    finally:
        finished.set()
        if watchdog is not None:
            watchdog.join()
        cursor.close()


def _interrupt_after(
    cursor: duckdb.DuckDBPyConnection, seconds: float, finished: threading.Event, timed_out: threading.Event
) -> None:
    # An interrupt that lands before the query starts executing is lost, so keep interrupting
    # until the query has ended.
    if finished.wait(seconds):
        return
    timed_out.set()
    while not finished.is_set():
        cursor.interrupt()
        finished.wait(0.05)


def _profiled(cursor: duckdb.DuckDBPyConnection) -> tuple[int | None, int | None]:
    """Rows scanned and peak buffer memory (MB) of the cursor's last query, when DuckDB reports
    them (its profile's layout has changed between releases: anything unexpected reads as None)."""
    try:
        profile = json.loads(cursor.get_profiling_information(format="json"))
    except Exception:
        return None, None
    query = profile.get("query") if isinstance(profile, dict) else None
    system = profile.get("system") if isinstance(profile, dict) else None
    rows = query.get("total_rows_scanned") if isinstance(query, dict) else None
    memory = system.get("peak_buffer_memory") if isinstance(system, dict) else None
    return (
        int(rows) if isinstance(rows, int) else None,
        round(memory / 1_048_576) if isinstance(memory, int) else None,
    )
