"""The analytics store: what is scanned (events, person replicas, cohort membership).

Two engines implement it: DuckDB (embedded default, ``store/duckdb.py``) and ClickHouse
(``store/clickhouse.py``). Handlers never edit rows in place: persons and distinct ids are
replicated as new versions (readers take the highest version), cohort membership is written
per cohort version and swapped atomically.

Engine differences live only in ``store/<engine>.py``, ``store/schema/<engine>.sql`` and
``query/dialects/<engine>.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class EventRow:
    uuid: str
    project_id: int
    event: str
    distinct_id: str
    person_id: str  # person UUID at ingestion time
    properties: str  # JSON text
    timestamp: datetime  # UTC
    created_at: datetime  # UTC, when the server received it


@dataclass(frozen=True)
class PersonVersion:
    project_id: int
    id: str  # person UUID
    properties: str  # JSON text
    is_identified: bool
    created_at: datetime
    version: int
    is_deleted: bool = False


@dataclass(frozen=True)
class DistinctIdVersion:
    project_id: int
    distinct_id: str
    person_id: str  # person UUID
    version: int
    is_deleted: bool = False


@dataclass(frozen=True)
class CompiledQuery:
    """SQL in the store's own dialect with bound parameters (never pasted user values)."""

    sql: str
    params: Mapping[str, Any] | Sequence[Any]


class AnalyticsStore(Protocol):
    dialect: str  # "duckdb" or "clickhouse": names the query dialect to compile for

    def migrate(self) -> None:
        """Create or upgrade the store's tables (idempotent)."""

    def append_events(self, rows: Sequence[EventRow]) -> None:
        """Append events in one batched write; duplicates by uuid are ignored by readers."""

    def append_person_versions(self, rows: Sequence[PersonVersion]) -> None: ...

    def append_distinct_id_versions(self, rows: Sequence[DistinctIdVersion]) -> None: ...

    def add_static_cohort_members(
        self, project_id: int, cohort_id: int, person_ids: Sequence[str]
    ) -> None: ...

    def remove_static_cohort_members(
        self, project_id: int, cohort_id: int, person_ids: Sequence[str]
    ) -> None: ...

    def replace_cohort_members(
        self, project_id: int, cohort_id: int, version: int, members: CompiledQuery
    ) -> int:
        """Write the person ids selected by `members` as cohort `version`; returns the count.

        Readers keep seeing the previous version until this one is complete.
        """

    def query(self, compiled: CompiledQuery) -> list[tuple[Any, ...]]: ...

    def close(self) -> None: ...
