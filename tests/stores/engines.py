"""The analytics engines the store suites run on, opened over a test's temp directory.

`chdb` is ClickHouse's engine in-process: the ClickHouse schema and dialect are exercised
without a server. chDB holds one session per process, so open one chDB store at a time.
"""

from __future__ import annotations

from pathlib import Path

from hedgerow.store.base import AnalyticsStore
from hedgerow.store.clickhouse import ClickHouseStore
from hedgerow.store.factory import open_store

ENGINES = ["duckdb", "chdb"]


def open_test_store(engine: str, tmp_path: Path) -> AnalyticsStore:
    if engine == "duckdb":
        return open_store(f"duckdb:///{tmp_path / 'events.duckdb'}")
    if engine == "chdb":
        store = ClickHouseStore.in_process(str(tmp_path / "chdb"))
        store.migrate()
        return store
    raise ValueError(f"unknown test engine {engine!r}")
