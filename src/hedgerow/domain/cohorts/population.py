"""Populating a static cohort once from its criteria (cohorts.md §2.2 step 6, §6.5).

Requested in the transaction that creates the cohort: the cohort shows `is_calculating`, a
calculation-history row is opened and a job names it. A worker then selects the criteria's
persons exactly as a dynamic calculation does (same lowering, dialect and store) and adds them as
static members in chunks, each chunk one transaction (members, `count`, replica outbox). Adding
skips existing members, so a run cut short by a crash is simply run again. Once the history row
is finished the population is done for good: a static cohort is never recalculated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hedgerow.db.session import transaction
from hedgerow.db.types import utcnow, uuid7
from hedgerow.domain.cohorts.bulk_members import add_members_by_ids
from hedgerow.domain.cohorts.calculation import CalculationResult, CriteriaRun, classify_error
from hedgerow.domain.cohorts.csv_import import CHUNK_ROWS
from hedgerow.domain.cohorts.models import Cohort, CohortCalculationHistory
from hedgerow.domain.cohorts.static import lock_cohort
from hedgerow.domain.jobs.service import enqueue_job
from hedgerow.query.lower import NO_PROPERTIES, criteria_tree
from hedgerow.query.plan import LoweringError
from hedgerow.store.base import AnalyticsStore

POPULATE_STATIC_COHORT = "populate_static_cohort"


def request_population(session: Session, cohort: Cohort) -> str:
    """Queue the one-time population of a new static cohort; returns its history row's id.

    `count` stays null until the population has run: the members are not known yet.
    """
    cohort.is_calculating = True
    cohort.count = None
    history = CohortCalculationHistory(
        id=str(uuid7()),
        project_id=cohort.project_id,
        cohort_id=cohort.id,
        filters=criteria_tree(cohort.filters, cohort.groups) or {},
        started_at=utcnow(),
    )
    session.add(history)
    session.flush()
    enqueue_job(
        session,
        kind=POPULATE_STATIC_COHORT,
        payload={"cohort_id": cohort.id, "history_id": history.id},
        project_id=cohort.project_id,
        dedupe_key=f"static-population:{cohort.id}",
    )
    return history.id


def _start(
    factory: sessionmaker[Session], cohort_id: int, history_id: str, now: datetime
) -> CriteriaRun | CalculationResult:
    with transaction(factory) as session:
        cohort = session.scalars(select(Cohort).where(Cohort.id == cohort_id).with_for_update()).first()
        history = session.get(CohortCalculationHistory, history_id)
        if cohort is None or history is None or history.finished_at is not None:
            return CalculationResult("skipped")
        if not cohort.is_static:
            # Turned dynamic before the population ran: its own calculations take over, and a
            # population that never started leaves no history behind.
            session.delete(history)
            return CalculationResult("superseded")
        return CriteriaRun.read(session, cohort, now)


def _add_members(
    factory: sessionmaker[Session], run: CriteriaRun, cohort_id: int, person_ids: list[str]
) -> None:
    for start in range(0, len(person_ids), CHUNK_ROWS):
        with transaction(factory) as session:
            lock_cohort(session, cohort_id)
            add_members_by_ids(
                session,
                project_id=run.project_id,
                cohort_id=cohort_id,
                id_type="person_id",
                values=person_ids[start : start + CHUNK_ROWS],
            )


def finish_population(
    factory: sessionmaker[Session],
    *,
    cohort_id: int,
    history_id: str,
    queries: list[dict[str, Any]] | None = None,
    error: str | None = None,
    error_code: str | None = None,
) -> int | None:
    """Close the population's history row and the cohort's calculating state; returns `count`.

    Members added before a failure stay (population only ever adds, as PostHog's does).
    """
    finished = utcnow()
    with transaction(factory) as session:
        lock_cohort(session, cohort_id)
        cohort = session.get(Cohort, cohort_id)
        history = session.get(CohortCalculationHistory, history_id)
        if cohort is None or history is None or history.finished_at is not None:
            return None
        failed = error is not None and error_code != "no_properties"
        cohort.is_calculating = False
        if failed:
            cohort.errors_calculating = (cohort.errors_calculating or 0) + 1
            cohort.last_error_at = finished
        else:
            cohort.count = cohort.count or 0
            cohort.last_calculation = finished
            cohort.errors_calculating = 0
            cohort.last_error_at = None
        history.finished_at = finished
        history.count = None if failed else cohort.count
        history.queries = queries or None
        history.error = error
        history.error_code = error_code
        return cohort.count


def populate_static_cohort(
    factory: sessionmaker[Session],
    store: AnalyticsStore,
    *,
    cohort_id: int,
    history_id: str,
    timeout_seconds: float | None = None,
) -> CalculationResult:
    """Run the population named by `history_id` unless it already ran; like a dynamic
    calculation it records a failure rather than raising (only the metadata store failing raises,
    and the job is retried)."""
    run = _start(factory, cohort_id, history_id, utcnow())
    if isinstance(run, CalculationResult):
        return run
    queries: list[dict[str, Any]] = []
    try:
        person_ids = run.select(
            store,
            queries,
            lambda compiled: store.select_person_ids(compiled, timeout_seconds=timeout_seconds),
        )
    except LoweringError as exc:
        if exc.code == "no_properties":
            count = finish_population(
                factory, cohort_id=cohort_id, history_id=history_id, error=NO_PROPERTIES, error_code=exc.code
            )
            return CalculationResult("done", count, exc.code, NO_PROPERTIES)
        return _failed(factory, cohort_id, history_id, queries, exc)
    except Exception as exc:
        return _failed(factory, cohort_id, history_id, queries, exc)
    _add_members(factory, run, cohort_id, person_ids)
    count = finish_population(factory, cohort_id=cohort_id, history_id=history_id, queries=queries)
    return CalculationResult("done", count)


def _failed(
    factory: sessionmaker[Session],
    cohort_id: int,
    history_id: str,
    queries: list[dict[str, Any]],
    exc: Exception,
) -> CalculationResult:
    code, text = classify_error(exc), str(exc) or type(exc).__name__
    finish_population(
        factory, cohort_id=cohort_id, history_id=history_id, queries=queries, error=text, error_code=code
    )
    return CalculationResult("failed", None, code, text)
