"""The analytics engines the store suites run on, opened over a test's temp directory."""

from __future__ import annotations

from pathlib import Path

from hedgerow.store.base import AnalyticsStore
from hedgerow.store.factory import open_store

ENGINES = ["duckdb"]


def open_test_store(engine: str, tmp_path: Path) -> AnalyticsStore:
    if engine == "duckdb":
        return open_store(f"duckdb:///{tmp_path / 'events.duckdb'}")
    raise ValueError(f"unknown test engine {engine!r}")
