"""Calculating a dynamic cohort (cohorts.md §6): members for the requested version, and the books.

One run: read the cohort and what its criteria refer to, open a calculation-history row, compile
the criteria for the analytics store's dialect, let the store write the members of
`pending_version` (swapped in atomically), then record the outcome. Success moves `version`
forward only (an older run finishing late never moves it back); failure counts an error. Either
way `is_calculating` is cleared unless a newer calculation has been requested since, so no
cohort is left "calculating" by a run that has ended.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hedgerow.db.session import transaction
from hedgerow.db.types import utcnow, uuid7
from hedgerow.domain.actions.service import action_steps
from hedgerow.domain.cohorts.models import Cohort, CohortCalculationHistory
from hedgerow.domain.projects.models import Project
from hedgerow.query.dialects.base import compile_plan, dialect_named
from hedgerow.query.lower import NO_PROPERTIES, CohortRef, LoweringContext, criteria_tree, lower
from hedgerow.query.plan import LoweringError
from hedgerow.store.base import AnalyticsStore, CompiledQuery, QueryTimeout

Status = Literal["done", "failed", "skipped", "superseded"]
T = TypeVar("T")
INTERRUPTED = "Calculation was interrupted before it finished"
# Engine error texts -> PostHog's calculation error codes (they pick `last_error_message`).
ERROR_SIGNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("invalid_regex", ("cannot_compile_regexp", "regex", "re2")),
    ("memory_limit", ("memory_limit_exceeded", "out of memory", "memory limit")),
    ("timeout", ("timeout_exceeded", "timeout", "timed out")),
    ("interrupted", ("interrupted", "query_was_cancelled")),
    ("query_size", ("max_query_size", "query is too large", "too_big_ast")),
    ("incompatible_types", ("no_common_type", "conversion error", "type mismatch", "cannot_convert_type")),
    ("capacity", ("too_many_simultaneous_queries", "connection refused", "could not set lock")),
)


@dataclass(frozen=True)
class CalculationResult:
    status: Status
    count: int | None = None
    error_code: str | None = None
    error: str | None = None


def classify_error(exc: BaseException) -> str:
    if isinstance(exc, LoweringError):
        return exc.code
    if isinstance(exc, QueryTimeout):
        return "timeout"
    text = f"{type(exc).__name__}: {exc}".lower()
    for code, signs in ERROR_SIGNS:
        if any(sign in text for sign in signs):
            return code
    return "unknown"


def _walk(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") in ("AND", "OR") and "values" in node:
            for child in node.get("values") or []:
                yield from _walk(child)
        else:
            yield node


def _action_ids(tree: Any) -> set[int]:
    ids: set[int] = set()
    for leaf in _walk(tree):
        if leaf.get("type") != "behavioral":
            continue
        for key, kind in (
            (leaf.get("key"), leaf.get("event_type")),
            (leaf.get("seq_event"), leaf.get("seq_event_type")),
        ):
            if kind == "actions" and str(key).isdigit():
                ids.add(int(str(key)))
    return ids


def _lowering_context(session: Session, cohort: Cohort, tree: Any, now: datetime) -> LoweringContext:
    """What `tree` refers to, resolved: other cohorts, the project's time zone, actions."""
    cohorts = {
        row.id: CohortRef(is_static=row.is_static, version=row.version)
        for row in session.execute(
            select(Cohort.id, Cohort.is_static, Cohort.version).where(Cohort.project_id == cohort.project_id)
        )
    }
    timezone = session.scalar(select(Project.timezone).where(Project.id == cohort.project_id)) or "UTC"
    actions = action_steps(session, project_id=cohort.project_id, action_ids=_action_ids(tree))
    return LoweringContext(
        project_id=cohort.project_id, now=now, timezone=timezone, cohorts=cohorts, actions=actions
    )


@dataclass(frozen=True)
class CriteriaRun:
    """A cohort's criteria as read under its lock, with what they refer to resolved: enough to
    select its members afterwards, outside that transaction (a calculation, a static population)."""

    project_id: int
    filters: dict[str, Any] | None
    groups: list[Any]
    context: LoweringContext

    @classmethod
    def read(cls, session: Session, cohort: Cohort, now: datetime) -> CriteriaRun:
        tree = criteria_tree(cohort.filters, cohort.groups)
        groups = list(cohort.groups or [])
        return cls(cohort.project_id, cohort.filters, groups, _lowering_context(session, cohort, tree, now))

    def select(
        self, store: AnalyticsStore, queries: list[dict[str, Any]], run: Callable[[CompiledQuery], T]
    ) -> T:
        """Compile the criteria for `store` (raises `LoweringError`) and `run` the query, recording
        its SQL and time in `queries`, as calculation history shows them."""
        lowered = lower(self.filters, self.context, groups=self.groups)
        compiled = compile_plan(lowered, dialect_named(store.dialect))
        queries.append({"query": compiled.sql})
        began = time.perf_counter()
        try:
            return run(CompiledQuery(compiled.sql, compiled.params))
        finally:
            queries[-1]["query_ms"] = round((time.perf_counter() - began) * 1000)


def _release(cohort: Cohort, pending_version: int) -> None:
    if (cohort.pending_version or 0) <= pending_version:
        cohort.is_calculating = False


def _start(
    factory: sessionmaker[Session], cohort_id: int, pending_version: int, now: datetime
) -> tuple[str, CriteriaRun] | CalculationResult:
    """The history row opened for this run, and the criteria to select; or why not to run."""
    with transaction(factory) as session:
        cohort = session.scalars(select(Cohort).where(Cohort.id == cohort_id).with_for_update()).first()
        if cohort is None:
            return CalculationResult("skipped")
        if (cohort.pending_version or 0) > pending_version:
            return CalculationResult("superseded")
        if cohort.deleted or cohort.is_static:
            _release(cohort, pending_version)
            return CalculationResult("skipped")
        tree = criteria_tree(cohort.filters, cohort.groups)
        history = CohortCalculationHistory(
            id=str(uuid7()),
            project_id=cohort.project_id,
            cohort_id=cohort.id,
            filters=tree or {},
            started_at=now,
        )
        session.add(history)
        return history.id, CriteriaRun.read(session, cohort, now)


def _close_interrupted(session: Session, cohort_id: int, *, before: datetime, at: datetime) -> None:
    """Runs of this cohort that started earlier and never finished were cut off (a worker died)."""
    for row in session.scalars(
        select(CohortCalculationHistory).where(
            CohortCalculationHistory.cohort_id == cohort_id,
            CohortCalculationHistory.finished_at.is_(None),
            CohortCalculationHistory.started_at < before,
        )
    ):
        row.finished_at = at
        row.error = INTERRUPTED
        row.error_code = "interrupted"


def _finish(
    factory: sessionmaker[Session],
    history_id: str,
    *,
    cohort_id: int,
    pending_version: int,
    count: int | None,
    queries: list[dict[str, Any]],
    error: str | None,
    error_code: str | None,
) -> None:
    finished = utcnow()
    with transaction(factory) as session:
        history = session.get(CohortCalculationHistory, history_id)
        if history is not None:
            _close_interrupted(session, cohort_id, before=history.started_at, at=finished)
            history.finished_at = finished
            history.count = count
            history.queries = queries or None
            history.error = error
            history.error_code = error_code
        cohort = session.scalars(select(Cohort).where(Cohort.id == cohort_id).with_for_update()).first()
        if cohort is None:
            return
        failed = error is not None and error_code != "no_properties"
        if failed:
            cohort.errors_calculating = (cohort.errors_calculating or 0) + 1
            cohort.last_error_at = finished
        else:
            if pending_version > (cohort.version or 0):
                cohort.version = pending_version
                cohort.count = count
            cohort.last_calculation = finished
            cohort.errors_calculating = 0
            cohort.last_error_at = None
        _release(cohort, pending_version)


def calculate_cohort(
    factory: sessionmaker[Session],
    store: AnalyticsStore,
    *,
    cohort_id: int,
    pending_version: int,
    now: datetime | None = None,
    timeout_seconds: float | None = None,
) -> CalculationResult:
    """Run one calculation of `cohort_id` at `pending_version` and record it; never raises for
    a calculation that failed (the error is recorded, a query past `timeout_seconds` as
    `timeout`), only for the metadata store failing."""
    started = _start(factory, cohort_id, pending_version, now or utcnow())
    if isinstance(started, CalculationResult):
        return started
    history_id, run = started
    queries: list[dict[str, Any]] = []
    try:
        written = run.select(
            store,
            queries,
            lambda compiled: store.replace_cohort_members(
                run.project_id, cohort_id, pending_version, compiled, timeout_seconds=timeout_seconds
            ),
        )
        count = written.count
        # Keys the engine cannot report are left out, as the spec has it.
        if written.read_rows is not None:
            queries[0]["read_rows"] = written.read_rows
        if written.memory_mb is not None:
            queries[0]["memory_mb"] = written.memory_mb
        queries[0]["written_rows"] = count
    except LoweringError as exc:
        if exc.code == "no_properties":
            _finish(
                factory,
                history_id,
                cohort_id=cohort_id,
                pending_version=pending_version,
                count=0,
                queries=[],
                error=NO_PROPERTIES,
                error_code="no_properties",
            )
            return CalculationResult("done", 0, "no_properties", NO_PROPERTIES)
        return _failed(factory, history_id, cohort_id, pending_version, queries, exc)
    except Exception as exc:
        return _failed(factory, history_id, cohort_id, pending_version, queries, exc)
    _finish(
        factory,
        history_id,
        cohort_id=cohort_id,
        pending_version=pending_version,
        count=count,
        queries=queries,
        error=None,
        error_code=None,
    )
    return CalculationResult("done", count)


def _failed(
    factory: sessionmaker[Session],
    history_id: str,
    cohort_id: int,
    pending_version: int,
    queries: list[dict[str, Any]],
    exc: Exception,
) -> CalculationResult:
    code, text = classify_error(exc), str(exc) or type(exc).__name__
    _finish(
        factory,
        history_id,
        cohort_id=cohort_id,
        pending_version=pending_version,
        count=None,
        queries=queries,
        error=text,
        error_code=code,
    )
    return CalculationResult("failed", None, code, text)


def release_abandoned(
    factory: sessionmaker[Session], *, cohort_id: int, pending_version: int, reason: str
) -> None:
    """A calculation nobody will finish (its job was given up): count the error, stop calculating."""
    now = utcnow()
    with transaction(factory) as session:
        cohort = session.scalars(select(Cohort).where(Cohort.id == cohort_id).with_for_update()).first()
        if cohort is None:
            return
        session.add(
            CohortCalculationHistory(
                id=str(uuid7()),
                project_id=cohort.project_id,
                cohort_id=cohort.id,
                filters=criteria_tree(cohort.filters, cohort.groups) or {},
                started_at=now,
                finished_at=now,
                error=reason,
                error_code="interrupted",
            )
        )
        cohort.errors_calculating = (cohort.errors_calculating or 0) + 1
        cohort.last_error_at = now
        _release(cohort, pending_version)
