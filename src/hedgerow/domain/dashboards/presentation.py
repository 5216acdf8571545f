"""Dashboard rows -> PostHog's dashboard JSON: the basic list item, and the detail with its tiles."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hedgerow.db.types import utcnow
from hedgerow.domain.dashboards.models import Dashboard, DashboardTile, Text
from hedgerow.domain.dashboards.permissions import access_level, is_admin, privilege_level
from hedgerow.domain.dashboards.schemas import (
    RESTRICTION_EVERYONE_EDITS,
    DashboardBasicOut,
    DashboardOut,
    TextOut,
    TileOut,
)
from hedgerow.domain.insights.context import apply_dashboard_filters, effective_filters
from hedgerow.domain.insights.models import Insight
from hedgerow.domain.insights.presentation import InContext, Viewing, present_insights
from hedgerow.domain.projects.schemas import ProjectRef
from hedgerow.domain.projects.service import users_by_id
from hedgerow.domain.sharing.models import SharingConfiguration

MISSING_POSITION = 100


def shared_dashboard_ids(session: Session, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    now = utcnow()
    rows = session.scalars(
        select(SharingConfiguration.dashboard_id).where(
            SharingConfiguration.dashboard_id.in_(ids),
            SharingConfiguration.enabled.is_(True),
            or_(SharingConfiguration.expires_at.is_(None), SharingConfiguration.expires_at > now),
        )
    )
    return set(rows)


def access_control_version(dashboard: Dashboard) -> str:
    """Restricted dashboards use the collaborator model ("v1"); open ones role-based access ("v2")."""
    return "v1" if dashboard.restriction_level > RESTRICTION_EVERYONE_EDITS else "v2"


def present_basic(
    session: Session, project: ProjectRef, rows: list[Dashboard], viewer_id: int | None
) -> list[DashboardBasicOut]:
    users = users_by_id(session, {r.created_by_id for r in rows if r.created_by_id is not None})
    admin = is_admin(session, viewer_id, project.organization_id)
    shared = shared_dashboard_ids(session, [r.id for r in rows])
    return [
        DashboardBasicOut(
            id=r.id,
            name=r.name,
            description=r.description or "",
            pinned=r.pinned,
            created_at=r.created_at,
            created_by=users.get(r.created_by_id) if r.created_by_id is not None else None,
            last_accessed_at=r.last_accessed_at,
            last_viewed_at=None,
            is_shared=r.id in shared,
            deleted=r.deleted,
            creation_mode=r.creation_mode,
            tags=list(r.tags or []),
            restriction_level=r.restriction_level,
            effective_restriction_level=r.restriction_level,
            effective_privilege_level=privilege_level(viewer_id, admin, r),
            user_access_level=access_level(viewer_id, r),
            access_control_version=access_control_version(r),
            last_refresh=r.last_refresh,
            team_id=r.project_id,
        )
        for r in rows
    ]


def _position(tile: DashboardTile) -> tuple[float, float]:
    sm = (tile.layouts or {}).get("sm") or {}

    def number(value: Any) -> float:
        try:
            return float(value)
        except (TypeError, ValueError):
            return MISSING_POSITION

    return number(sm.get("y", MISSING_POSITION)), number(sm.get("x", MISSING_POSITION))


def _texts(session: Session, tiles: list[DashboardTile]) -> dict[int, TextOut]:
    ids = [t.text_id for t in tiles if t.text_id is not None]
    if not ids:
        return {}
    rows = list(session.scalars(select(Text).where(Text.id.in_(ids))))
    users = users_by_id(
        session,
        {u for r in rows for u in (r.created_by_id, r.last_modified_by_id) if u is not None},
    )
    return {
        r.id: TextOut(
            id=r.id,
            body=r.body,
            created_by=users.get(r.created_by_id) if r.created_by_id else None,
            last_modified_at=r.last_modified_at,
            last_modified_by=users.get(r.last_modified_by_id) if r.last_modified_by_id else None,
            team=r.project_id,
        )
        for r in rows
    }


def live_tiles(session: Session, dashboard_id: int) -> list[tuple[DashboardTile, Insight | None]]:
    """Live tiles in display order; tiles whose insight is soft-deleted are left out."""
    rows = session.execute(
        select(DashboardTile, Insight)
        .outerjoin(Insight, Insight.id == DashboardTile.insight_id)
        .where(DashboardTile.dashboard_id == dashboard_id, DashboardTile.deleted.is_not(True))
        .order_by(DashboardTile.insight_id.is_(None), DashboardTile.insight_id, DashboardTile.id)
    ).all()
    live = [(tile, insight) for tile, insight in rows if insight is None or not insight.deleted]
    return sorted(live, key=lambda pair: _position(pair[0]))


def present_tiles(
    session: Session,
    project: ProjectRef,
    dashboard: Dashboard,
    viewing: Viewing,
    filters_override: dict[str, Any] | None,
) -> list[TileOut]:
    pairs = live_tiles(session, dashboard.id)
    texts = _texts(session, [t for t, _ in pairs])
    shown_filters = effective_filters(dashboard.filters, filters_override, None)
    contexts: dict[int, InContext] = {}
    insights: list[Insight] = []
    for tile, insight in pairs:
        if insight is None:
            continue
        run_filters = effective_filters(dashboard.filters, filters_override, tile.filters_overrides)
        contexts[insight.id] = InContext(
            shown_query=apply_dashboard_filters(insight.query, shown_filters),
            run_query=apply_dashboard_filters(insight.query, run_filters),
        )
        insights.append(insight)
    tolerant = replace(viewing, tolerant=True)
    presented = {i.id: i for i in present_insights(session, project, insights, tolerant, contexts)}
    tiles: list[TileOut] = []
    for order, (tile, _) in enumerate(pairs):
        shown = presented.get(tile.insight_id) if tile.insight_id is not None else None
        tiles.append(
            TileOut(
                id=tile.id,
                insight=shown,
                text=texts.get(tile.text_id) if tile.text_id is not None else None,
                layouts=tile.layouts or {},
                color=tile.color,
                filters_overrides=tile.filters_overrides or {},
                order=order,
                last_refresh=shown.last_refresh if shown else None,
                is_cached=shown.is_cached if shown else False,
            )
        )
    return tiles


def present_detail(
    session: Session,
    project: ProjectRef,
    dashboard: Dashboard,
    viewing: Viewing,
    filters_override: dict[str, Any] | None = None,
) -> DashboardOut:
    basic = present_basic(session, project, [dashboard], viewing.viewer_id)[0]
    fields = basic.model_dump(exclude={"tags"})
    fields["tags"] = basic.tags
    if viewing.sharing:
        fields.update(effective_restriction_level=37, effective_privilege_level=21, user_access_level=None)
        filters_override = None
    return DashboardOut(
        **fields,
        filters=effective_filters(dashboard.filters, filters_override, None),
        # Variables re-map against the project's SQL insight variables, which Hedgerow does not have.
        variables={},
        breakdown_colors=dashboard.breakdown_colors,
        data_color_theme_id=dashboard.data_color_theme_id,
        persisted_filters=dashboard.filters or None,
        persisted_variables=dashboard.variables or None,
        tiles=present_tiles(session, project, dashboard, viewing, filters_override),
    )
