"""The analytics store: what is scanned (events, person replicas, cohort membership).

Two engines implement it: DuckDB (embedded default, ``store/duckdb.py``) and ClickHouse
(``store/clickhouse.py``). Handlers never edit rows in place: persons and distinct ids are
replicated as new versions (readers take the highest version), cohort membership is written
per cohort version and swapped atomically.

Engine differences live only in ``store/<engine>.py``, ``store/schema/<engine>.sql`` and
``query/dialects/<engine>.py``.

Reader conventions (what compiled queries may rely on, identically on both engines)
-------------------------------------------------------------------------------------

Read these names, never the versioned tables behind them:

``events(uuid, project_id, event, distinct_id, person_id, properties, timestamp, created_at)``
    One row per event uuid. Duplicates by ``(project_id, uuid)`` (a client retry, an outbox
    replay) are dropped at write time on DuckDB when the copy is timed within a day of the
    stored event (``store/duckdb.py`` says why). On ClickHouse ``events`` is a
    ReplacingMergeTree keyed like PostHog's (project, day, event, distinct id, uuid) and every
    query the store runs has the ``final = 1`` setting, so a re-send with the same uuid, event,
    distinct id and UTC day never counts twice there either (a "duplicate" that differs in
    those is kept, as PostHog keeps it). ``person_id`` is the owner at ingestion time; to
    attribute an event to the person who owns its distinct id *now*, join
    ``person_distinct_ids_latest``.
``persons_latest(project_id, id, properties, is_identified, created_at, version)``
    The highest version of each person, without persons whose latest version is deleted.
``person_distinct_ids_latest(project_id, distinct_id, person_id, version)``
    The current owner of each distinct id (highest version, deleted mappings left out).
``static_cohort_people_latest(project_id, cohort_id, person_id)``
    Current static cohort members.
``cohort_members(project_id, cohort_id, version, person_id)``
    Dynamic cohort members per calculation version; read the cohort's current ``version``.
    The previous version is kept until the next one replaces it, so a reader holding the
    old version number never sees an empty cohort.

Types: ids (``uuid``, ``person_id``, ``id``) are UUIDs in the engine and ``str`` in results;
``properties`` is JSON text (DuckDB ``json_extract_string``/``->>``, ClickHouse
``JSONExtract*``); timestamps are UTC (DuckDB ``TIMESTAMPTZ`` with the session time zone pinned
to UTC, ClickHouse ``DateTime64(6, 'UTC')``) and come back as timezone-aware datetimes;
``project_id``, ``cohort_id`` and ``version`` are 64-bit integers. Parameters are bound:
``$name`` in DuckDB SQL, ``{name:Type}`` in ClickHouse SQL, values in ``CompiledQuery.params``
(a dict; names starting with ``_hr_`` are the store's own).

Writes: every ``append_*``/static-membership call is durable when it returns. Static
membership changes are versioned by the store's clock (microseconds, strictly increasing per
process), so an add and a later remove apply in call order. Events are deleted only by
``delete_person_events``, which a worker runs after the persons API deleted those persons with
``delete_events``. ``replace_cohort_members`` takes
a query selecting exactly one column, the person id, and stores its distinct values; it reports
what the engine read to select them (``MembersWritten``) and stops a selection that runs longer
than its ``timeout_seconds`` with ``QueryTimeout``.

Tests: ``tests/stores/conftest.py`` has a ``store`` fixture that runs a test once on DuckDB
and once on chDB (ClickHouse in-process; one chDB store per process at a time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(value: datetime) -> int:
    """An aware datetime as integer microseconds since the Unix epoch (exact)."""
    return (value - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(0, 0, value)  # positional: measurably faster per call


@dataclass
class EventColumns:
    """Events column by column, timestamps as microseconds since the epoch (UTC): how ingestion
    hands them to a store, so a large batch is never turned into one object per row."""

    uuid: list[str] = field(default_factory=list)
    project_id: list[int] = field(default_factory=list)
    event: list[str] = field(default_factory=list)
    distinct_id: list[str] = field(default_factory=list)
    person_id: list[str] = field(default_factory=list)
    properties: list[str] = field(default_factory=list)  # JSON text
    timestamp: list[int] = field(default_factory=list)
    created_at: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.uuid)

    def extend(self, other: EventColumns) -> None:
        self.uuid += other.uuid
        self.project_id += other.project_id
        self.event += other.event
        self.distinct_id += other.distinct_id
        self.person_id += other.person_id
        self.properties += other.properties
        self.timestamp += other.timestamp
        self.created_at += other.created_at

    @classmethod
    def from_rows(cls, rows: Sequence[EventRow]) -> EventColumns:
        return cls(
            [r.uuid for r in rows],
            [r.project_id for r in rows],
            [r.event for r in rows],
            [r.distinct_id for r in rows],
            [r.person_id for r in rows],
            [r.properties for r in rows],
            [to_micros(r.timestamp) for r in rows],
            [to_micros(r.created_at) for r in rows],
        )

    def rows(self) -> list[EventRow]:
        return [
            EventRow(u, p, e, d, pid, props, from_micros(ts), from_micros(ca))
            for u, p, e, d, pid, props, ts, ca in zip(
                self.uuid,
                self.project_id,
                self.event,
                self.distinct_id,
                self.person_id,
                self.properties,
                self.timestamp,
                self.created_at,
                strict=True,
            )
        ]


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


@dataclass(frozen=True)
class MembersWritten:
    """The outcome of ``replace_cohort_members``: members stored, and what the engine read to
    select them where it reports it (None when it does not)."""

    count: int
    read_rows: int | None = None
    memory_mb: int | None = None


class QueryTimeout(Exception):
    """A calculation query ran past its time limit and was stopped by the engine."""

    def __init__(self, seconds: float):
        super().__init__(f"Query stopped after running longer than its {seconds:g} s time limit (timeout)")
        self.seconds = seconds


def named_params(compiled: CompiledQuery) -> dict[str, Any]:
    """The parameters as a dict: every store binds them by name (`$name`, `{name:Type}`)."""
    if not isinstance(compiled.params, Mapping):
        raise TypeError("analytics queries bind named parameters: CompiledQuery.params must be a dict")
    return dict(compiled.params)


class AnalyticsStore(Protocol):
    dialect: str  # "duckdb" or "clickhouse": names the query dialect to compile for

    def migrate(self) -> None:
        """Create or upgrade the store's tables (idempotent)."""

    def append_events(self, rows: Sequence[EventRow]) -> None:
        """Append events in one batched write; duplicates by uuid are ignored by readers."""

    def append_event_columns(self, columns: EventColumns) -> None:
        """`append_events` for events already in columns (ingestion's form)."""

    def append_person_versions(self, rows: Sequence[PersonVersion]) -> None: ...

    def append_distinct_id_versions(self, rows: Sequence[DistinctIdVersion]) -> None: ...

    def delete_person_events(
        self, project_id: int, person_ids: Sequence[str], *, received_before: datetime
    ) -> None:
        """Delete the project's events whose `person_id` is one of `person_ids` and whose
        `created_at` (when the server received them) is before `received_before`; durable when
        it returns, and harmless to repeat."""

    def add_static_cohort_members(
        self, project_id: int, cohort_id: int, person_ids: Sequence[str]
    ) -> None: ...

    def remove_static_cohort_members(
        self, project_id: int, cohort_id: int, person_ids: Sequence[str]
    ) -> None: ...

    def replace_cohort_members(
        self,
        project_id: int,
        cohort_id: int,
        version: int,
        members: CompiledQuery,
        *,
        timeout_seconds: float | None = None,
    ) -> MembersWritten:
        """Write the person ids selected by `members` as cohort `version`.

        Readers keep seeing the previous version until this one is complete. A selection still
        running after `timeout_seconds` is stopped and raises `QueryTimeout`, writing nothing.
        """

    def select_person_ids(self, members: CompiledQuery, *, timeout_seconds: float | None = None) -> list[str]:
        """The distinct person ids `members` selects (one column, as `replace_cohort_members`
        takes it), written nowhere: what a static cohort is populated with. A selection still
        running after `timeout_seconds` is stopped and raises `QueryTimeout`."""

    def cohort_member_ids(
        self, project_id: int, cohort_id: int, version: int, *, limit: int | None = None, offset: int = 0
    ) -> list[str]:
        """Person ids of a dynamic cohort at `version`, in a stable order (by person id)."""

    def cohort_members_newest_first(
        self, project_id: int, cohort_id: int, version: int, *, limit: int, offset: int
    ) -> list[str]:
        """A page of a dynamic cohort's members at `version` in the persons list's order: person
        `created_at` descending, then person id descending; members whose person row is not in
        the store yet come last."""

    def count_cohort_members(self, project_id: int, cohort_id: int, version: int) -> int: ...

    def cohort_versions_with_member(self, project_id: int, person_id: str) -> list[tuple[int, int]]:
        """(cohort id, version) of every stored dynamic membership of this person, by cohort id
        then version; a reader keeps the pairs at each cohort's current version."""

    def query(self, compiled: CompiledQuery) -> list[tuple[Any, ...]]: ...

    def close(self) -> None: ...
