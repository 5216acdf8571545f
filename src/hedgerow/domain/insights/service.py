"""Insights: list, create, retrieve, update (incl. soft delete and dashboards), with results."""

from __future__ import annotations

import secrets
import string
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hedgerow.db.types import utcnow
from hedgerow.domain.activity.schemas import Change
from hedgerow.domain.activity.service import diff_changes, log_activity
from hedgerow.domain.dashboards.models import Dashboard, DashboardTile
from hedgerow.domain.dashboards.permissions import can_edit
from hedgerow.domain.insights.context import apply_dashboard_filters, effective_filters
from hedgerow.domain.insights.models import Insight
from hedgerow.domain.insights.presentation import (
    InContext,
    Viewing,
    live_tiles,
    present_insights,
)
from hedgerow.domain.insights.schemas import InsightOut
from hedgerow.domain.insights.schemas_write import InsightWrite
from hedgerow.domain.insights.validation import check_query
from hedgerow.domain.insights.views import mark_viewed
from hedgerow.domain.projects.schemas import Actor, ProjectRef
from hedgerow.errors import InvalidInput, NotFound, PermissionDenied

ACTIVITY_SCOPE = "Insight"
DIFFED = ("name", "derived_name", "description", "query", "filters", "deleted", "favorited", "saved", "tags")
MATERIAL = ("name", "description", "filters", "query")
_ALPHABET = string.ascii_letters + string.digits


def new_short_id(session: Session, project_id: int) -> str:
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(8))
        clash = session.scalar(
            select(Insight.id).where(Insight.project_id == project_id, Insight.short_id == candidate)
        )
        if clash is None:
            return candidate


def _find(
    session: Session, project: ProjectRef, insight_id: int | str, *, include_deleted: bool = False
) -> Insight:
    condition = Insight.id == int(insight_id) if str(insight_id).isdigit() else Insight.short_id == insight_id
    query = select(Insight).where(Insight.project_id == project.id, condition)
    if not include_deleted:
        query = query.where(Insight.deleted.is_(False))
    row = session.scalars(query).first()
    if row is None:
        raise NotFound()
    return row


def _dashboards_for(
    session: Session, project: ProjectRef, actor: Actor, ids: list[int], *, verb: str
) -> list[Dashboard]:
    found: list[Dashboard] = []
    for dashboard_id in dict.fromkeys(ids):
        dashboard = session.get(Dashboard, dashboard_id)
        if dashboard is None or dashboard.deleted:
            raise InvalidInput(
                f'Invalid pk "{dashboard_id}" - object does not exist.',
                code="does_not_exist",
                attr="dashboards",
            )
        if dashboard.project_id != project.id:
            raise InvalidInput("Dashboard not found", attr="dashboards")
        if not can_edit(session, actor, project, dashboard):
            raise PermissionDenied(f"You don't have permission to {verb} dashboard: {dashboard_id}")
        found.append(dashboard)
    return found


def _dashboard_names(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = session.execute(select(Dashboard.id, Dashboard.name).where(Dashboard.id.in_(ids))).all()
    names = dict(rows)
    return [{"id": i, "name": names.get(i)} for i in ids]


def set_dashboards(
    session: Session, project: ProjectRef, actor: Actor, insight: Insight, ids: list[int]
) -> bool:
    """Tiles for newly listed dashboards (reviving deleted ones), soft-deleted tiles for the rest."""
    current = {t.dashboard_id for t in live_tiles(session, [insight.id]).get(insight.id, [])}
    wanted = list(dict.fromkeys(ids))
    _dashboards_for(session, project, actor, [i for i in wanted if i not in current], verb="add insights to")
    _dashboards_for(
        session, project, actor, [i for i in current if i not in wanted], verb="remove insights from"
    )
    tiles = {
        t.dashboard_id: t
        for t in session.scalars(select(DashboardTile).where(DashboardTile.insight_id == insight.id))
    }
    for dashboard_id in wanted:
        tile = tiles.get(dashboard_id)
        if tile is None:
            session.add(
                DashboardTile(
                    dashboard_id=dashboard_id, insight_id=insight.id, layouts={}, filters_overrides={}
                )
            )
        elif tile.deleted:
            tile.deleted = False
    for dashboard_id in current - set(wanted):
        tiles[dashboard_id].deleted = True
    session.flush()
    return set(wanted) != current


def _snapshot(row: Insight) -> dict[str, Any]:
    return {name: getattr(row, name) for name in DIFFED}


def create_insight(
    session: Session,
    *,
    project: ProjectRef,
    actor: Actor,
    body: InsightWrite,
    sent: set[str],
    viewing: Viewing,
) -> InsightOut:
    if "query" in sent and body.query is not None and body.query != {}:
        check_query(body.query)
    now = utcnow()
    row = Insight(
        project_id=project.id,
        short_id=new_short_id(session, project.id),
        name=body.name,
        derived_name=body.derived_name,
        description=body.description,
        query=body.query,
        filters=body.filters or {},
        order=body.order,
        deleted=bool(body.deleted),
        saved=bool(body.saved),
        favorited=bool(body.favorited),
        is_sample=False,
        tags=_normalise_tags(body.tags or []),
        created_at=now,
        created_by_id=actor.user.id,
        last_modified_at=now,
        last_modified_by_id=actor.user.id,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    mark_viewed(session, project_id=project.id, user_id=actor.user.id, insight_ids=[row.id])
    if body.dashboards:
        set_dashboards(session, project, actor, row, body.dashboards)
    if row.name or row.derived_name:
        log_activity(
            session,
            project=project,
            user_id=actor.user.id,
            scope=ACTIVITY_SCOPE,
            item_id=str(row.id),
            activity="created",
            name=row.name or row.derived_name,
            changes=None,
            short_id=row.short_id,
        )
    return present_insights(session, project, [row], viewing)[0]


def _normalise_tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(t.strip().lower() for t in tags if t.strip()))


def get_insight(
    session: Session,
    *,
    project: ProjectRef,
    insight_id: int | str,
    viewing: Viewing,
    from_dashboard: int | None = None,
    filters_override: dict[str, Any] | None = None,
    tile_filters_override: dict[str, Any] | None = None,
) -> InsightOut:
    row = _find(session, project, insight_id)
    context = None
    tile = None
    dashboard = None
    if from_dashboard is not None:
        tile = session.scalars(
            select(DashboardTile).where(
                DashboardTile.insight_id == row.id,
                DashboardTile.dashboard_id == from_dashboard,
                DashboardTile.deleted.is_not(True),
            )
        ).first()
        dashboard = session.get(Dashboard, from_dashboard) if tile is not None else None
        if dashboard is not None and (dashboard.deleted or dashboard.project_id != project.id):
            dashboard, tile = None, None
    if dashboard is not None or filters_override:
        overrides = dict((tile.filters_overrides if tile else None) or {})
        overrides.update(tile_filters_override or {})
        shown = effective_filters(dashboard.filters if dashboard else None, filters_override, None)
        run = effective_filters(dashboard.filters if dashboard else None, filters_override, overrides)
        extra = {"color": tile.color, "layouts": tile.layouts or {}} if tile is not None else {}
        context = InContext(
            shown_query=apply_dashboard_filters(row.query, shown),
            run_query=apply_dashboard_filters(row.query, run),
            extra=extra,
        )
    return present_insights(session, project, [row], viewing, {row.id: context} if context else None)[0]


def update_insight(
    session: Session,
    *,
    project: ProjectRef,
    actor: Actor,
    insight_id: int | str,
    body: InsightWrite,
    sent: set[str],
    viewing: Viewing,
) -> InsightOut:
    restoring = "deleted" in sent and body.deleted is False
    row = _find(session, project, insight_id, include_deleted=restoring)
    if "query" in sent and body.query is not None and body.query != {}:
        check_query(body.query)
    before = _snapshot(row)
    before_dashboards = [t.dashboard_id for t in live_tiles(session, [row.id]).get(row.id, [])]
    for name in ("name", "derived_name", "description", "query", "order"):
        if name in sent:
            setattr(row, name, getattr(body, name))
    for name in ("saved", "favorited", "deleted"):
        if name in sent and getattr(body, name) is not None:
            setattr(row, name, bool(getattr(body, name)))
    if "filters" in sent:
        row.filters = body.filters or {}
    if "tags" in sent:
        row.tags = _normalise_tags(body.tags or [])
    row.is_sample = False
    now = utcnow()
    row.updated_at = now
    after = _snapshot(row)
    if any(before[name] != after[name] for name in MATERIAL):
        row.last_modified_at = now
        row.last_modified_by_id = actor.user.id
    if row.deleted and not before["deleted"]:
        for tile in session.scalars(select(DashboardTile).where(DashboardTile.insight_id == row.id)):
            tile.deleted = True
    dashboards_changed = False
    if "dashboards" in sent and body.dashboards is not None and not row.deleted:
        dashboards_changed = set_dashboards(session, project, actor, row, body.dashboards)
    session.flush()
    changes: list[Change] = diff_changes(ACTIVITY_SCOPE, before, after, DIFFED)
    if dashboards_changed:
        after_dashboards = [t.dashboard_id for t in live_tiles(session, [row.id]).get(row.id, [])]
        changes.append(
            Change(
                type=ACTIVITY_SCOPE,
                action="changed",
                field="dashboards",
                before=_dashboard_names(session, before_dashboards),
                after=_dashboard_names(session, after_dashboards),
            )
        )
    if changes:
        log_activity(
            session,
            project=project,
            user_id=actor.user.id,
            scope=ACTIVITY_SCOPE,
            item_id=str(row.id),
            activity="updated",
            name=row.name or row.derived_name,
            changes=changes,
            short_id=row.short_id,
        )
    return present_insights(session, project, [row], viewing)[0]


def activity_item_exists(session: Session, *, project: ProjectRef, insight_id: int) -> None:
    _find(session, project, insight_id)
