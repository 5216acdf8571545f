"""How cohort rows and calculation-history rows are shown."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from hedgerow.domain.cohorts.models import Cohort, CohortCalculationHistory
from hedgerow.domain.cohorts.schemas import CalculationHistoryOut, CohortOut
from hedgerow.domain.projects.service import users_by_id
from hedgerow.query.filters import criteria_tree, groups_to_properties, has_criteria

GENERIC_ERROR = (
    "An error occurred while calculating this cohort. "
    "Please review your matching criteria or contact support."
)
ERROR_MESSAGES = {
    "capacity": (
        "The system was busy when this cohort was scheduled to calculate. It will automatically retry."
    ),
    "interrupted": "Calculation was interrupted. It will automatically retry.",
    "timeout": "Cohort calculation was terminated for taking too long.",
    "memory_limit": "Cohort calculation was terminated for using too much memory.",
    "query_size": "The matching criteria produced a query that was too large.",
    "invalid_regex": (
        "This cohort contains an invalid regular expression. "
        "Please check your regex syntax in the matching criteria."
    ),
    "no_properties": "This cohort has no matching criteria defined. Please add at least one.",
    "flag_changed": (
        "The feature flag changed while this cohort was being calculated. Please run the calculation again."
    ),
}


def error_message(code: str | None) -> str | None:
    if not code:
        return None
    return ERROR_MESSAGES.get(code, GENERIC_ERROR)


def _latest_error_codes(session: Session, cohort_ids: Sequence[int]) -> dict[int, str | None]:
    """Error code of each cohort's most recent failed history row (a later success does not clear it,
    as in PostHog)."""
    if not cohort_ids:
        return {}
    rows = session.execute(
        select(CohortCalculationHistory.cohort_id, CohortCalculationHistory.error_code)
        .where(
            CohortCalculationHistory.cohort_id.in_(cohort_ids),
            CohortCalculationHistory.error.is_not(None),
            CohortCalculationHistory.error != "",
        )
        .order_by(CohortCalculationHistory.started_at.desc(), CohortCalculationHistory.id.desc())
    )
    latest: dict[int, str | None] = {}
    for cohort_id, code in rows:
        latest.setdefault(cohort_id, code)
    return latest


def shown_filters(cohort: Cohort) -> dict[str, object]:
    """`filters` is always an object: legacy cohorts show their groups converted (§1.1)."""
    if isinstance(cohort.filters, dict) and (has_criteria(cohort.filters) or cohort.is_static):
        return cohort.filters
    return {"properties": groups_to_properties(cohort.groups)}


def present(session: Session, rows: Sequence[Cohort]) -> list[CohortOut]:
    users = users_by_id(session, {r.created_by_id for r in rows if r.created_by_id is not None})
    codes = _latest_error_codes(session, [r.id for r in rows])
    return [
        CohortOut(
            id=r.id,
            name=r.name,
            description=r.description,
            groups=r.groups or [],
            deleted=r.deleted,
            filters=shown_filters(r),
            query=r.query,
            version=r.version,
            pending_version=r.pending_version,
            is_calculating=r.is_calculating,
            created_by=users.get(r.created_by_id) if r.created_by_id is not None else None,
            created_at=r.created_at,
            last_calculation=r.last_calculation,
            last_backfill_person_properties_at=r.last_backfill_person_properties_at,
            errors_calculating=r.errors_calculating,
            last_error_message=error_message(codes.get(r.id)),
            count=r.count,
            is_static=r.is_static,
            cohort_type=r.cohort_type,
            experiment_set=[],
        )
        for r in rows
    ]


def _sum(queries: list[dict[str, object]] | None, key: str) -> int | None:
    if not queries:
        return None
    return int(sum(v for q in queries if isinstance(v := q.get(key), int | float)))


def history_out(row: CohortCalculationHistory) -> CalculationHistoryOut:
    finished = row.finished_at
    duration = (finished - row.started_at).total_seconds() if finished is not None else None
    queries = row.queries
    main_query = queries[0].get("query") if queries else None
    return CalculationHistoryOut(
        id=row.id,
        filters=criteria_tree(row.filters) if "properties" in (row.filters or {}) else (row.filters or {}),
        count=row.count,
        started_at=row.started_at,
        finished_at=finished,
        queries=queries,
        error=row.error,
        duration_seconds=duration,
        is_completed=finished is not None,
        is_successful=finished is not None and row.error is None,
        total_query_ms=_sum(queries, "query_ms"),
        total_memory_mb=_sum(queries, "memory_mb"),
        total_read_rows=_sum(queries, "read_rows"),
        total_written_rows=_sum(queries, "written_rows"),
        main_query=main_query if isinstance(main_query, str) else None,
    )
