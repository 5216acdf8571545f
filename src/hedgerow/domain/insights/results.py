"""Insight results: `refresh` modes, the per-query cache, and computing on a miss (insights-trends §3)."""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hedgerow.db.types import utcnow
from hedgerow.domain.actions.models import Action
from hedgerow.domain.cohorts.models import Cohort
from hedgerow.domain.insights import dates
from hedgerow.domain.insights.models import QueryResult
from hedgerow.domain.insights.trends import run_trends
from hedgerow.errors import InvalidInput
from hedgerow.query.trends import CohortSource, TrendsQueryError, action_ids, cohort_ids
from hedgerow.store.base import AnalyticsStore

log = logging.getLogger("hedgerow.insights")

CACHE_VERSION = 1
MODES = frozenset({"blocking", "async", "lazy_async", "force_async", "force_blocking", "force_cache"})
CACHE_TTL = timedelta(days=7)
_SWEEP_EVERY = timedelta(hours=1)
_swept: dict[int, datetime] = {}  # project id -> when this process last deleted its expired results
STALE_AFTER = {
    "minute": timedelta(minutes=5),
    "hour": timedelta(hours=1),
    "day": timedelta(hours=6),
    "week": timedelta(days=1),
    "month": timedelta(days=1),
}


def parse_refresh(raw: str | None) -> str:
    if raw is None:
        return "force_cache"
    value = raw.strip().lower()
    if value in ("", "true", "1", "yes"):
        return "force_blocking"
    return raw if raw in MODES else "force_cache"


@dataclass(frozen=True)
class InsightResult:
    result: list[Any] | None = None
    has_more: bool | None = None
    last_refresh: datetime | None = None
    is_cached: bool = False
    cache_target_age: datetime | None = None
    next_allowed_client_refresh: datetime | None = None
    timezone: str | None = None
    hogql: str | None = None
    filters_hash: str | None = None
    query_status: dict[str, Any] | None = None


def trends_source(query: dict[str, Any] | None) -> dict[str, Any] | None:
    if not isinstance(query, dict):
        return None
    source = query.get("source") if query.get("kind") == "InsightVizNode" else query
    if isinstance(source, dict) and source.get("kind") == "TrendsQuery":
        return source
    return None


def cache_key(project_id: int, query: dict[str, Any], timezone: str, week_start: int = 0) -> str:
    source = {k: v for k, v in query.items() if k != "tags"}
    # Sunday weeks keep the key they always had: results cached before week starts existed stay valid.
    context: list[Any] = [CACHE_VERSION, project_id, timezone, source]
    if week_start:
        context.append({"week_start_day": week_start})
    payload = json.dumps(context, sort_keys=True, default=str)
    return "cache_" + hashlib.md5(payload.encode(), usedforsecurity=False).hexdigest()


def _client_wait(source: dict[str, Any], interval: str, last_refresh: datetime, timezone: str) -> timedelta:
    """How long clients wait before refreshing again: sooner for fine intervals and short ranges."""
    if interval == "minute":
        return timedelta(minutes=1)
    if interval == "hour":
        return timedelta(minutes=3)
    try:
        window = dates.resolve(source.get("dateRange"), interval, now=last_refresh, timezone=timezone)
    except InvalidInput:
        return timedelta(minutes=15)
    # Whole days, rounded up: `-7d` (today included) spans eight.
    span_days = math.ceil((window.date_to - window.date_from) / timedelta(days=1))
    return timedelta(minutes=3 if span_days <= 7 else 15)


def _from_row(row: QueryResult, *, cached: bool, timezone: str, source: dict[str, Any]) -> InsightResult:
    threshold = STALE_AFTER.get(row.interval, STALE_AFTER["day"])
    client_wait = _client_wait(source, row.interval, row.last_refresh, timezone)
    return InsightResult(
        result=row.result,
        has_more=row.has_more,
        last_refresh=row.last_refresh,
        is_cached=cached,
        cache_target_age=row.last_refresh + threshold,
        next_allowed_client_refresh=row.last_refresh + client_wait,
        timezone=timezone,
        filters_hash=row.cache_key,
    )


def _is_stale(row: QueryResult, now: datetime) -> bool:
    if row.date_to is not None and row.date_to < row.last_refresh - timedelta(seconds=10):
        return False
    return now > row.last_refresh + STALE_AFTER.get(row.interval, STALE_AFTER["day"])


def resolve_cohorts(session: Session, project_id: int, ids: set[int]) -> dict[int, CohortSource]:
    if not ids:
        return {}
    rows = session.scalars(
        select(Cohort).where(Cohort.project_id == project_id, Cohort.id.in_(ids), Cohort.deleted.is_(False))
    )
    return {c.id: CohortSource(static=bool(c.is_static), version=c.version, name=c.name) for c in rows}


def resolve_actions(
    session: Session, project_id: int, source: dict[str, Any]
) -> tuple[dict[int, list[dict[str, Any]]], dict[str, Any]]:
    """Steps of the actions the series use, and the source with each action series named."""
    ids = action_ids(source)
    if not ids:
        return {}, source
    rows = session.execute(
        select(Action.id, Action.name, Action.steps).where(
            Action.project_id == project_id, Action.id.in_(ids)
        )
    ).all()
    names = {row.id: row.name for row in rows}
    series = [
        {**s, "name": s.get("name") or names.get(s.get("id")) or f"Action {s.get('id')}"}
        if s.get("kind") == "ActionsNode"
        else s
        for s in source.get("series") or []
    ]
    return {row.id: list(row.steps or []) for row in rows}, {**source, "series": series}


def _sweep_due(project_id: int, now: datetime) -> bool:
    """Whether this process last swept the project's expired results over an hour ago."""
    last = _swept.get(project_id)
    if last is not None and now - last < _SWEEP_EVERY:
        return False
    _swept[project_id] = now
    return True


def _store_row(session: Session, row: QueryResult) -> None:
    try:
        with session.begin_nested():
            session.merge(row)
            # Results nobody asked for within the TTL go, so the cache does not grow for ever. Now
            # and then, not on every store: readers already treat expired rows as missing.
            if _sweep_due(row.project_id, row.last_refresh):
                session.execute(
                    delete(QueryResult).where(
                        QueryResult.project_id == row.project_id,
                        QueryResult.last_refresh < row.last_refresh - CACHE_TTL,
                    )
                )
            session.flush()
    except IntegrityError:
        # Another request stored the same result first; theirs is as good as ours.
        log.info("query result %s stored concurrently", row.cache_key)


def insight_result(
    session: Session,
    store: AnalyticsStore | None,
    *,
    project_id: int,
    timezone: str,
    query: dict[str, Any] | None,
    mode: str,
    now: datetime | None = None,
    week_start: int = 0,
) -> InsightResult:
    """`week_start`: the project's first day of the week (0 Sunday, 1 Monday) for week buckets."""
    source = trends_source(query)
    if source is None or query is None:
        return InsightResult()
    now = now or utcnow()
    key = cache_key(project_id, query, timezone, week_start)
    row = session.get(QueryResult, key)
    if row is not None and now - row.last_refresh > CACHE_TTL:
        row = None  # expired: as if never computed
    fresh_enough = row is not None and not _is_stale(row, now)
    if row is not None and (mode == "force_cache" or (mode != "force_blocking" and fresh_enough)):
        return _from_row(row, cached=True, timezone=timezone, source=source)
    if mode == "force_cache" or store is None:
        return InsightResult(filters_hash=key)
    try:
        cohorts = resolve_cohorts(session, project_id, cohort_ids(source))
        steps, source = resolve_actions(session, project_id, source)
        outcome = run_trends(
            store,
            source,
            project_id=project_id,
            timezone=timezone,
            now=now,
            cohorts=cohorts,
            actions=steps,
            week_start=week_start,
        )
    except TrendsQueryError as exc:
        raise InvalidInput(str(exc), attr=exc.attr) from None
    except InvalidInput:
        raise
    except Exception as exc:  # a failed calculation must not fail the request (newest PostHog)
        log.exception("trends calculation failed")
        return InsightResult(
            timezone=timezone,
            filters_hash=key,
            query_status={
                "id": key,
                "query_async": False,
                "error": True,
                "complete": True,
                "error_message": str(exc),
            },
        )
    fresh = QueryResult(
        cache_key=key,
        project_id=project_id,
        result=outcome.result,
        has_more=outcome.has_more,
        last_refresh=now,
        date_to=outcome.date_to,
        interval=outcome.interval,
    )
    _store_row(session, fresh)
    computed = _from_row(fresh, cached=False, timezone=timezone, source=source)
    return InsightResult(**{**computed.__dict__, "hogql": outcome.hogql})
