"""The scale-out analytics store: ClickHouse, through a server or chDB (in-process).

Every append is one INSERT per batch; ClickHouse makes each INSERT atomic and durable on its
own, so there is no group commit here. Reads go through the executor, which runs with
`final = 1` (see store/base.py for the reader conventions).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hedgerow.store.base import (
    CompiledQuery,
    DistinctIdVersion,
    EventColumns,
    EventRow,
    MembersWritten,
    PersonVersion,
    QueryTimeout,
    named_params,
)
from hedgerow.store.clickhouse_executors import ChdbExecutor, ClickHouseExecutor, ServerExecutor
from hedgerow.store.clock import VersionClock
from hedgerow.store.ddl import schema_statements

_EVENT_COLUMNS = (
    "uuid",
    "project_id",
    "event",
    "distinct_id",
    "person_id",
    "properties",
    "timestamp",
    "created_at",
)
_PERSON_COLUMNS = ("project_id", "id", "properties", "is_identified", "created_at", "version", "is_deleted")
_DISTINCT_ID_COLUMNS = ("project_id", "distinct_id", "person_id", "version", "is_deleted")
_STATIC_COLUMNS = ("project_id", "cohort_id", "person_id", "version", "is_deleted")
_COHORT_SCOPE = "project_id = {_hr_project_id:Int64} AND cohort_id = {_hr_cohort_id:Int64}"


class ClickHouseStore:
    dialect = "clickhouse"

    def __init__(self, executor: ClickHouseExecutor):
        self._executor = executor
        self._clock = VersionClock()

    @classmethod
    def connect(cls, url: str) -> ClickHouseStore:
        """A ClickHouse server named by `clickhouse[s]://user:pass@host:port/db`."""
        return cls(ServerExecutor.from_url(url))

    @classmethod
    def in_process(cls, path: str) -> ClickHouseStore:
        """ClickHouse's engine inside this process (chDB) over the directory `path`."""
        return cls(ChdbExecutor(path))

    def migrate(self) -> None:
        for statement in schema_statements("clickhouse"):
            self._executor.command(statement)

    def close(self) -> None:
        self._executor.close()

    # --- writes -------------------------------------------------------------------------------
    def append_events(self, rows: Sequence[EventRow]) -> None:
        if rows:
            self._executor.insert(
                "events",
                _EVENT_COLUMNS,
                [
                    (
                        r.uuid,
                        r.project_id,
                        r.event,
                        r.distinct_id,
                        r.person_id,
                        r.properties,
                        r.timestamp,
                        r.created_at,
                    )
                    for r in rows
                ],
            )

    def append_event_columns(self, columns: EventColumns) -> None:
        self.append_events(columns.rows())

    def append_person_versions(self, rows: Sequence[PersonVersion]) -> None:
        if rows:
            self._executor.insert(
                "persons",
                _PERSON_COLUMNS,
                [
                    (r.project_id, r.id, r.properties, r.is_identified, r.created_at, r.version, r.is_deleted)
                    for r in rows
                ],
            )

    def append_distinct_id_versions(self, rows: Sequence[DistinctIdVersion]) -> None:
        if rows:
            self._executor.insert(
                "person_distinct_ids",
                _DISTINCT_ID_COLUMNS,
                [(r.project_id, r.distinct_id, r.person_id, r.version, r.is_deleted) for r in rows],
            )

    def delete_person_events(
        self, project_id: int, person_ids: Sequence[str], *, received_before: datetime
    ) -> None:
        if person_ids:
            # A lightweight delete: the rows vanish from reads once the statement returns (it
            # waits for its mutation by default), and parts are rewritten by later merges.
            self._executor.command(
                "DELETE FROM events WHERE project_id = {_hr_project_id:Int64}"
                " AND created_at < {_hr_before:DateTime64(6, 'UTC')}"
                " AND person_id IN {_hr_person_ids:Array(UUID)}",
                {
                    "_hr_project_id": project_id,
                    "_hr_before": received_before,
                    "_hr_person_ids": list(person_ids),
                },
            )

    def _static_change(
        self, project_id: int, cohort_id: int, person_ids: Sequence[str], *, deleted: bool
    ) -> None:
        if person_ids:
            version = self._clock.next()
            self._executor.insert(
                "static_cohort_people",
                _STATIC_COLUMNS,
                [(project_id, cohort_id, person_id, version, deleted) for person_id in person_ids],
            )

    def add_static_cohort_members(self, project_id: int, cohort_id: int, person_ids: Sequence[str]) -> None:
        self._static_change(project_id, cohort_id, person_ids, deleted=False)

    def remove_static_cohort_members(
        self, project_id: int, cohort_id: int, person_ids: Sequence[str]
    ) -> None:
        self._static_change(project_id, cohort_id, person_ids, deleted=True)

    def replace_cohort_members(
        self,
        project_id: int,
        cohort_id: int,
        version: int,
        members: CompiledQuery,
        *,
        timeout_seconds: float | None = None,
    ) -> MembersWritten:
        params = named_params(members)
        key = {"_hr_project_id": project_id, "_hr_cohort_id": cohort_id, "_hr_version": version}
        if key.keys() & params.keys():
            raise ValueError("parameter names starting with _hr_ are reserved by the store")
        this_version = f"{_COHORT_SCOPE} AND version = {{_hr_version:Int64}}"
        count_sql = f"SELECT count() FROM cohort_members WHERE {this_version}"
        # A retried calculation rewrites its version from scratch.
        if self._scalar(count_sql, key):
            self._executor.command(f"DELETE FROM cohort_members WHERE {this_version}", key)
        try:
            read_rows = self._executor.measured_command(
                "INSERT INTO cohort_members (project_id, cohort_id, version, person_id)"
                " SELECT DISTINCT {_hr_project_id:Int64}, {_hr_cohort_id:Int64}, {_hr_version:Int64}, m.*"
                f" FROM ({members.sql}) AS m",
                {**params, **key},
                timeout_seconds=timeout_seconds,
            )
        except Exception as exc:
            if timeout_seconds and "TIMEOUT_EXCEEDED" in str(exc):
                # What a stopped INSERT ... SELECT wrote of this version goes with it.
                self._executor.command(f"DELETE FROM cohort_members WHERE {this_version}", key)
                raise QueryTimeout(timeout_seconds) from exc
            raise
        count = self._scalar(count_sql, key)
        # Readers learn about the new version only after the caller records it, so the version
        # just before this one stays; anything older goes.
        previous = self._scalar(
            f"SELECT max(version) FROM cohort_members WHERE {_COHORT_SCOPE}"
            " AND version < {_hr_version:Int64}",
            key,
        )
        if previous:
            self._executor.command(
                f"DELETE FROM cohort_members WHERE {_COHORT_SCOPE} AND version < {{_hr_keep:Int64}}",
                {**key, "_hr_keep": previous},
            )
        return MembersWritten(count, read_rows)

    # --- reads --------------------------------------------------------------------------------
    def _scalar(self, sql: str, params: dict[str, Any]) -> int:
        rows = self._executor.query(sql, params)
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def select_person_ids(self, members: CompiledQuery, *, timeout_seconds: float | None = None) -> list[str]:
        try:
            rows = self._executor.query(
                f"SELECT DISTINCT toString(m.*) FROM ({members.sql}) AS m WHERE m.* IS NOT NULL",
                named_params(members),
                timeout_seconds=timeout_seconds,
            )
        except Exception as exc:
            if timeout_seconds and "TIMEOUT_EXCEEDED" in str(exc):
                raise QueryTimeout(timeout_seconds) from exc
            raise
        return [row[0] for row in rows]

    def query(self, compiled: CompiledQuery) -> list[tuple[Any, ...]]:
        return self._executor.query(compiled.sql, named_params(compiled))

    def cohort_member_ids(
        self, project_id: int, cohort_id: int, version: int, *, limit: int | None = None, offset: int = 0
    ) -> list[str]:
        # Ordered by the UUID's text: ClickHouse's own UUID order differs from DuckDB's.
        sql = (
            "SELECT toString(person_id) AS member FROM cohort_members"
            f" WHERE {_COHORT_SCOPE} AND version = {{_hr_version:Int64}} ORDER BY member"
        )
        params: dict[str, Any] = {
            "_hr_project_id": project_id,
            "_hr_cohort_id": cohort_id,
            "_hr_version": version,
        }
        if limit is not None:
            sql += " LIMIT {_hr_limit:UInt64}"
            params["_hr_limit"] = limit
        if offset:
            sql += " OFFSET {_hr_offset:UInt64}"
            params["_hr_offset"] = offset
        return [row[0] for row in self._executor.query(sql, params)]

    def cohort_members_newest_first(
        self, project_id: int, cohort_id: int, version: int, *, limit: int, offset: int
    ) -> list[str]:
        # Person ids compared as text, the order DuckDB gives UUIDs; a missing person row joins
        # as ClickHouse's default (the epoch), hence the explicit "not found" sort key.
        sql = (
            "SELECT toString(m.person_id) AS member FROM cohort_members AS m"
            " LEFT JOIN (SELECT id, created_at, 1 AS found FROM persons_latest"
            " WHERE project_id = {_hr_project_id:Int64}) AS p ON p.id = m.person_id"
            " WHERE m.project_id = {_hr_project_id:Int64} AND m.cohort_id = {_hr_cohort_id:Int64}"
            " AND m.version = {_hr_version:Int64}"
            " ORDER BY p.found DESC, p.created_at DESC, member DESC"
            " LIMIT {_hr_limit:UInt64} OFFSET {_hr_offset:UInt64}"
        )
        params: dict[str, Any] = {
            "_hr_project_id": project_id,
            "_hr_cohort_id": cohort_id,
            "_hr_version": version,
            "_hr_limit": limit,
            "_hr_offset": offset,
        }
        return [row[0] for row in self._executor.query(sql, params)]

    def cohort_versions_with_member(self, project_id: int, person_id: str) -> list[tuple[int, int]]:
        sql = (
            "SELECT DISTINCT cohort_id, version FROM cohort_members"
            " WHERE project_id = {_hr_project_id:Int64} AND person_id = {_hr_person_id:UUID}"
            " ORDER BY cohort_id, version"
        )
        rows = self._executor.query(sql, {"_hr_project_id": project_id, "_hr_person_id": person_id})
        return [(int(cohort), int(version)) for cohort, version in rows]

    def count_cohort_members(self, project_id: int, cohort_id: int, version: int) -> int:
        return self._scalar(
            f"SELECT count() FROM cohort_members WHERE {_COHORT_SCOPE} AND version = {{_hr_version:Int64}}",
            {"_hr_project_id": project_id, "_hr_cohort_id": cohort_id, "_hr_version": version},
        )
