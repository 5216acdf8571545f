"""Which store a URL opens, and who opens the DuckDB file (the server, never the CLI)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hedgerow.cli import main
from hedgerow.settings import Settings
from hedgerow.store.base import CompiledQuery, EventRow
from hedgerow.store.clickhouse import ClickHouseStore
from hedgerow.store.duckdb import DuckDBStore
from hedgerow.store.factory import duckdb_path, open_store
from tests.support import HedgerowClient

AT = datetime(2024, 1, 1, tzinfo=UTC)


def test_duckdb_urls_name_a_file() -> None:
    assert duckdb_path("duckdb:////var/lib/hedgerow/events.duckdb") == Path("/var/lib/hedgerow/events.duckdb")
    assert duckdb_path("duckdb:///relative/events.duckdb") == Path("relative/events.duckdb")
    assert duckdb_path("duckdb://data/my%20events.duckdb") == Path("data/my events.duckdb")
    with pytest.raises(ValueError):
        duckdb_path("duckdb:///")


def test_open_store_creates_the_directory_and_the_schema_idempotently(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path}/nested/dir/events.duckdb"
    store = open_store(url)
    assert isinstance(store, DuckDBStore)
    assert store.dialect == "duckdb"
    store.append_events(
        [
            EventRow(
                "018e0000-0000-7000-8000-000000000001",
                1,
                "e",
                "d",
                "018e0000-0000-7000-8000-000000000002",
                "{}",
                AT,
                AT,
            )
        ]
    )
    store.close()
    reopened = open_store(url)  # the schema is applied again without touching the data
    try:
        assert reopened.query(CompiledQuery("SELECT count(*) FROM events", {})) == [(1,)]
    finally:
        reopened.close()


def test_unknown_schemes_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported analytics store URL"):
        open_store("mysql://localhost/events")


def test_clickhouse_urls_choose_the_clickhouse_store() -> None:
    # No server listens on port 1: reaching ClickHouseStore.connect is what is checked.
    with pytest.raises(Exception) as caught:
        open_store("clickhouse://user:pass@127.0.0.1:1/analytics")
    assert "clickhouse" in type(caught.value).__module__ or "Connection" in str(caught.value)
    assert ClickHouseStore.dialect == "clickhouse"


def test_the_server_owns_the_store_for_its_lifetime(
    database_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEDGEROW_DATABASE_URL", database_url)
    nested = data_dir / "fresh"
    settings = Settings(data_dir=nested, database_url=database_url)
    with HedgerowClient.start(settings) as client:
        store = client.app.state.store
        assert isinstance(store, DuckDBStore)
        assert Path(store.path) == (nested / "events.duckdb").resolve()
        store.append_events(
            [
                EventRow(
                    "018e0000-0000-7000-8000-000000000003",
                    1,
                    "e",
                    "d",
                    "018e0000-0000-7000-8000-000000000004",
                    "{}",
                    AT,
                    AT,
                )
            ]
        )
    # Shut down: the file is closed (another process could open it now) and the rows are there.
    reopened = open_store(settings.analytics_url)
    try:
        assert reopened.query(CompiledQuery("SELECT uuid FROM events", {})) == [
            ("018e0000-0000-7000-8000-000000000003",)
        ]
    finally:
        reopened.close()


def test_cli_commands_leave_the_analytics_store_alone(
    database_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEDGEROW_DATA_DIR", str(data_dir))
    monkeypatch.setenv("HEDGEROW_DATABASE_URL", database_url)
    monkeypatch.delenv("HEDGEROW_ANALYTICS_URL", raising=False)
    main(["init", "--json"])
    assert "personal_api_key" in json.loads(capsys.readouterr().out)
    main(["projects", "list", "--json"])
    assert not (data_dir / "events.duckdb").exists()


KILLED_WRITER = """
import os, signal, sys
from datetime import UTC, datetime
from hedgerow.store.base import EventRow
from hedgerow.store.factory import open_store

store = open_store(sys.argv[1])
at = datetime(2024, 1, 1, tzinfo=UTC)
owner = "018e0000-0000-7000-8000-000000000000"
store.append_events([
    EventRow(f"018e0000-0000-7000-8000-{i:012d}", 1, "e", "d", owner, "{}", at, at) for i in range(1000)
])
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_rows_are_durable_once_append_returns(tmp_path: Path) -> None:
    """A process killed right after append_events returned loses none of those rows."""
    url = f"duckdb:///{tmp_path / 'events.duckdb'}"
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, url], check=False, timeout=120)
    assert done.returncode == -signal.SIGKILL
    store = open_store(url)
    try:
        assert store.query(CompiledQuery("SELECT count(*) FROM events", {})) == [(1000,)]
    finally:
        store.close()
