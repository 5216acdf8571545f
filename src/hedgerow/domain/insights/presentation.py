"""Insight rows -> PostHog's insight JSON (full and basic), with results per the `refresh` mode."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hedgerow.domain.dashboards.models import Dashboard, DashboardTile
from hedgerow.domain.insights.models import Insight
from hedgerow.domain.insights.results import InsightResult, insight_result
from hedgerow.domain.insights.schemas import DashboardTileRef, InsightBasicOut, InsightOut
from hedgerow.domain.projects.schemas import ProjectRef, UserBasic
from hedgerow.domain.projects.service import users_by_id
from hedgerow.errors import InvalidInput
from hedgerow.store.base import AnalyticsStore


@dataclass(frozen=True)
class Viewing:
    """How insights are being looked at: by whom, with which `refresh` mode, over which store."""

    store: AnalyticsStore | None
    mode: str = "force_cache"
    viewer_id: int | None = None
    sharing: bool = False
    # On a dashboard one tile's bad query must not fail the others: it shows an error status instead.
    tolerant: bool = False


@dataclass(frozen=True)
class InContext:
    """An insight seen through a dashboard: the query shown, and the one computed."""

    shown_query: dict[str, Any] | None
    run_query: dict[str, Any] | None
    extra: dict[str, Any] = field(default_factory=dict)


def live_tiles(session: Session, insight_ids: list[int]) -> dict[int, list[DashboardTileRef]]:
    """Tiles on live dashboards, per insight (deleted tiles and dashboards left out)."""
    found: dict[int, list[DashboardTileRef]] = defaultdict(list)
    if not insight_ids:
        return found
    rows = session.execute(
        select(DashboardTile.id, DashboardTile.dashboard_id, DashboardTile.deleted, DashboardTile.insight_id)
        .join(Dashboard, Dashboard.id == DashboardTile.dashboard_id)
        .where(
            DashboardTile.insight_id.in_(insight_ids),
            DashboardTile.deleted.is_not(True),
            Dashboard.deleted.is_(False),
        )
        .order_by(DashboardTile.id)
    ).all()
    for tile_id, dashboard_id, deleted, insight_id in rows:
        if insight_id is None:
            continue
        found[insight_id].append(DashboardTileRef(id=tile_id, dashboard_id=dashboard_id, deleted=deleted))
    return found


def _users(session: Session, rows: list[Insight]) -> dict[int, UserBasic]:
    ids = {r.created_by_id for r in rows if r.created_by_id} | {
        r.last_modified_by_id for r in rows if r.last_modified_by_id
    }
    return users_by_id(session, {i for i in ids if i is not None})


def _result(
    session: Session, project: ProjectRef, viewing: Viewing, query: dict[str, Any] | None
) -> InsightResult:
    try:
        return insight_result(
            session,
            viewing.store,
            project_id=project.id,
            timezone=project.timezone,
            query=query,
            mode=viewing.mode,
            week_start=1 if project.week_start_day == 1 else 0,
        )
    except InvalidInput as exc:
        if not viewing.tolerant:
            raise
        status = {"query_async": False, "error": True, "complete": True, "error_message": exc.detail}
        return InsightResult(timezone=project.timezone, query_status=status)


def _filters(row: Insight) -> dict[str, Any]:
    """Legacy filters as stored; an insight with neither filters nor a query reads as a trends one."""
    if row.filters:
        return dict(row.filters)
    return {} if row.query else {"insight": "TRENDS"}


def present_insights(
    session: Session,
    project: ProjectRef,
    rows: list[Insight],
    viewing: Viewing,
    contexts: dict[int, InContext] | None = None,
) -> list[InsightOut]:
    tiles = live_tiles(session, [r.id for r in rows])
    users = _users(session, rows)
    out: list[InsightOut] = []
    for row in rows:
        context = (contexts or {}).get(row.id)
        run_query = context.run_query if context else row.query
        computed = _result(session, project, viewing, run_query)
        refs = tiles.get(row.id, [])
        out.append(
            InsightOut(
                id=row.id,
                short_id=row.short_id,
                name=row.name,
                derived_name=row.derived_name,
                filters=_filters(row),
                query=context.shown_query if context else row.query,
                order=row.order,
                deleted=row.deleted,
                dashboards=[t.dashboard_id for t in refs],
                dashboard_tiles=refs,
                last_refresh=computed.last_refresh,
                cache_target_age=computed.cache_target_age,
                next_allowed_client_refresh=computed.next_allowed_client_refresh,
                result=computed.result,
                hasMore=computed.has_more,
                columns=None,
                created_at=row.created_at,
                created_by=users.get(row.created_by_id) if row.created_by_id else None,
                description=row.description,
                updated_at=row.updated_at,
                tags=list(row.tags or []),
                favorited=row.favorited,
                saved=row.saved,
                last_modified_at=row.last_modified_at,
                last_modified_by=users.get(row.last_modified_by_id) if row.last_modified_by_id else None,
                is_sample=row.is_sample,
                effective_restriction_level=21,
                effective_privilege_level=21 if viewing.sharing else 37,
                user_access_level=None if viewing.sharing else "editor",
                timezone=computed.timezone,
                is_cached=computed.is_cached,
                query_status=computed.query_status,
                hogql=computed.hogql,
                types=None,
                filters_hash=computed.filters_hash,
                **(context.extra if context else {}),
            )
        )
    return out


def present_basic(session: Session, rows: list[Insight]) -> list[InsightBasicOut]:
    tiles = live_tiles(session, [r.id for r in rows])
    users = _users(session, rows)
    return [
        InsightBasicOut(
            id=row.id,
            short_id=row.short_id,
            name=row.name,
            derived_name=row.derived_name,
            favorited=row.favorited,
            filters=row.filters or {},
            query=row.query,
            dashboards=[t.dashboard_id for t in tiles.get(row.id, [])],
            dashboard_tiles=tiles.get(row.id, []),
            description=row.description,
            last_refresh=None,
            refreshing=False,
            saved=row.saved,
            updated_at=row.updated_at,
            created_by=users.get(row.created_by_id) if row.created_by_id else None,
            created_at=row.created_at,
            last_modified_at=row.last_modified_at,
            tags=list(row.tags or []),
            user_access_level="editor",
        )
        for row in rows
    ]
