"""The two ways ClickHouseStore reaches ClickHouse: a server (clickhouse-connect) or chDB.

Both run SQL with `{name:Type}` parameters bound by the engine, and both run every statement
with `final = 1`, so reads of ReplacingMergeTree tables never see a row twice.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from hedgerow.store.clickhouse_values import decode_json_compact, json_compact_row, normalise, render_param

READ_SETTINGS = {"final": 1}


class ClickHouseExecutor(Protocol):
    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None: ...

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None, *, timeout_seconds: float | None = None
    ) -> list[tuple[Any, ...]]:
        """Rows of a SELECT, stopped by `max_execution_time` when `timeout_seconds` is given."""

    def measured_command(
        self, sql: str, params: Mapping[str, Any] | None, *, timeout_seconds: float | None
    ) -> int | None:
        """Run a statement with `max_execution_time` (when given); returns the rows it read,
        where the engine reports them."""

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """One INSERT for the whole batch."""

    def close(self) -> None: ...


class ChdbExecutor:
    """ClickHouse's engine in this process (chDB), over a data directory.

    chDB keeps one session per process, so open one ChdbExecutor at a time; calls from several
    threads are serialised here because a session is not safe to share concurrently.
    """

    def __init__(self, path: str):
        from chdb import session

        self._session = session.Session(path)
        self._lock = threading.Lock()
        for name, value in READ_SETTINGS.items():
            self._session.query(f"SET {name} = {int(value)}")

    def _run(
        self, sql: str, params: Mapping[str, Any] | None, fmt: str, *, max_execution_time: float = 0
    ) -> Any:
        rendered = {name: render_param(value) for name, value in (params or {}).items()}
        with self._lock:
            if not max_execution_time:
                return self._session.query(sql, fmt, params=rendered or None)
            # The session's settings apply to its next statements: set the limit, then lift it.
            self._session.query(f"SET max_execution_time = {float(max_execution_time):.6f}")
            try:
                return self._session.query(sql, fmt, params=rendered or None)
            finally:
                self._session.query("SET max_execution_time = 0")

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(sql, params, "CSV")

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None, *, timeout_seconds: float | None = None
    ) -> list[tuple[Any, ...]]:
        result = self._run(sql, params, "JSONCompact", max_execution_time=timeout_seconds or 0)
        return decode_json_compact(result.bytes())

    def measured_command(
        self, sql: str, params: Mapping[str, Any] | None, *, timeout_seconds: float | None
    ) -> int | None:
        result = self._run(sql, params, "CSV", max_execution_time=timeout_seconds or 0)
        return int(result.storage_rows_read())

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        # The data is encoded by json.dumps, so values never become SQL text.
        lines = "\n".join(json_compact_row(row) for row in rows)
        statement = f"INSERT INTO {table} ({', '.join(columns)}) FORMAT JSONCompactEachRow\n{lines}"
        with self._lock:
            self._session.query(statement, "CSV")

    def close(self) -> None:
        with self._lock:
            self._session.close()


class ServerExecutor:
    """A ClickHouse server over HTTP(S) through clickhouse-connect."""

    def __init__(self, client: Any):
        self._client = client

    @classmethod
    def from_url(cls, url: str) -> ServerExecutor:
        """`clickhouse://user:pass@host:8123/db` (`clickhouses://` for TLS); the database is created."""
        import clickhouse_connect

        parts = urlsplit(url)
        secure = parts.scheme == "clickhouses"
        database = unquote(parts.path.lstrip("/")) or "default"
        options: dict[str, Any] = {
            "host": parts.hostname or "localhost",
            "port": parts.port or (8443 if secure else 8123),
            "username": unquote(parts.username or "default"),
            "password": unquote(parts.password or ""),
            "secure": secure,
        }
        if database != "default":
            bootstrap = clickhouse_connect.get_client(**options, autogenerate_session_id=False)
            try:
                bootstrap.command(
                    "CREATE DATABASE IF NOT EXISTS {db:Identifier}", parameters={"db": database}
                )
            finally:
                bootstrap.close()
        # No session: API handlers, workers and the replicator share this client from many
        # threads, and concurrent queries in one ClickHouse session are refused.
        client = clickhouse_connect.get_client(
            **options, database=database, settings=dict(READ_SETTINGS), autogenerate_session_id=False
        )
        return cls(client)

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._client.command(sql, parameters=dict(params) if params else None)

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None, *, timeout_seconds: float | None = None
    ) -> list[tuple[Any, ...]]:
        settings = {"max_execution_time": timeout_seconds} if timeout_seconds else None
        result = self._client.query(sql, parameters=dict(params) if params else None, settings=settings)
        return [tuple(normalise(value) for value in row) for row in result.result_rows]

    def measured_command(
        self, sql: str, params: Mapping[str, Any] | None, *, timeout_seconds: float | None
    ) -> int | None:
        settings = {"max_execution_time": timeout_seconds} if timeout_seconds else None
        result = self._client.command(sql, parameters=dict(params) if params else None, settings=settings)
        # A statement without a result answers with the query's summary (X-ClickHouse-Summary).
        summary = getattr(result, "summary", None)
        read = summary.get("read_rows") if isinstance(summary, dict) else None
        return int(read) if read is not None else None

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self._client.insert(table, [list(row) for row in rows], column_names=list(columns))

    def close(self) -> None:
        self._client.close()
