"""Dashboards: list, create (blank, from a template, as a copy), retrieve, update, soft delete."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hedgerow.db.types import utcnow
from hedgerow.domain.activity.service import diff_changes, log_activity
from hedgerow.domain.dashboards import templating, tiles
from hedgerow.domain.dashboards.models import Dashboard, DashboardTile
from hedgerow.domain.dashboards.permissions import NO_EDIT, NO_RESTRICT, can_edit, can_restrict
from hedgerow.domain.dashboards.presentation import present_basic, present_detail
from hedgerow.domain.dashboards.schemas import DashboardBasicOut, DashboardOut
from hedgerow.domain.dashboards.schemas_write import DashboardWrite
from hedgerow.domain.insights.models import Insight
from hedgerow.domain.insights.presentation import Viewing
from hedgerow.domain.projects.schemas import Actor, ProjectRef
from hedgerow.errors import InvalidInput, NotFound, PermissionDenied

ACTIVITY_SCOPE = "Dashboard"
DIFFED = ("name", "description", "pinned", "tags", "filters", "restriction_level", "deleted")
SIMPLE_FIELDS = (
    "name",
    "description",
    "pinned",
    "breakdown_colors",
    "data_color_theme_id",
    "last_accessed_at",
    "last_refresh",
)


@dataclass(frozen=True)
class DashboardPage:
    count: int
    results: list[DashboardBasicOut]


def normalise_tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(t.strip().lower() for t in tags if t.strip()))


def find_dashboard(
    session: Session, project: ProjectRef, dashboard_id: int, *, include_deleted: bool = False
) -> Dashboard:
    row = session.get(Dashboard, dashboard_id)
    if row is None or row.project_id != project.id or (row.deleted and not include_deleted):
        raise NotFound()
    return row


def list_dashboards(
    session: Session,
    *,
    project: ProjectRef,
    viewer_id: int | None,
    tags: list[str],
    limit: int,
    offset: int,
    exclude_generated: bool = False,
) -> DashboardPage:
    rows = list(
        session.scalars(
            select(Dashboard).where(Dashboard.project_id == project.id, Dashboard.deleted.is_(False))
        )
    )
    if exclude_generated:
        rows = [r for r in rows if not (r.name or "").startswith("Generated Dashboard")]
    wanted = set(normalise_tags(tags))
    if wanted:
        rows = [r for r in rows if wanted & set(r.tags or [])]
    # Pinned first, then by name with unnamed dashboards last (PostgreSQL's NULLS LAST).
    rows.sort(key=lambda r: (not r.pinned, r.name is None, r.name or "", r.id))
    return DashboardPage(
        count=len(rows), results=present_basic(session, project, rows[offset : offset + limit], viewer_id)
    )


def get_dashboard(
    session: Session,
    *,
    project: ProjectRef,
    dashboard_id: int,
    viewing: Viewing,
    filters_override: dict[str, Any] | None = None,
) -> DashboardOut:
    row = find_dashboard(session, project, dashboard_id)
    row.last_accessed_at = utcnow()
    shown = present_detail(session, project, row, viewing, filters_override)
    # The dashboard was last refreshed when its newest tile result was computed.
    refreshed = [t.last_refresh for t in shown.tiles if t.last_refresh is not None]
    if refreshed and (row.last_refresh is None or max(refreshed) > row.last_refresh):
        row.last_refresh = max(refreshed)
        shown.last_refresh = row.last_refresh
    return shown


def _filters_from(raw: dict[str, Any], key: str) -> dict[str, Any] | None:
    """A truthy object replaces what is stored; falsy values are ignored (PostHog cannot clear them)."""
    value = raw.get(key)
    if not value:
        return None
    if not isinstance(value, dict):
        raise InvalidInput("Filters must be a dictionary")
    return value


def _snapshot(row: Dashboard) -> dict[str, Any]:
    return {name: getattr(row, name) for name in DIFFED}


def create_dashboard(
    session: Session,
    *,
    project: ProjectRef,
    actor: Actor,
    body: DashboardWrite,
    raw: dict[str, Any],
    viewing: Viewing,
) -> DashboardOut:
    if body.use_template and body.use_dashboard:
        raise InvalidInput("`use_dashboard` and `use_template` cannot be used together")
    filters = _filters_from(raw, "filters")
    # Resolve everything that can fail before inserting, so a refusal leaves nothing behind.
    template = templating.find_template(session, project, body.use_template) if body.use_template else None
    source: Dashboard | None = None
    if body.use_dashboard:
        source = session.get(Dashboard, body.use_dashboard)
        if source is None or source.deleted or source.project_id != project.id:
            raise InvalidInput("Invalid value provided", attr="use_dashboard")
    row = Dashboard(
        project_id=project.id,
        name=body.name,
        description=body.description or "",
        pinned=bool(body.pinned),
        deleted=bool(body.deleted),
        restriction_level=body.restriction_level or 21,
        breakdown_colors=body.breakdown_colors if body.breakdown_colors is not None else [],
        data_color_theme_id=body.data_color_theme_id,
        last_accessed_at=body.last_accessed_at,
        last_refresh=body.last_refresh,
        filters=filters if filters is not None else (dict(source.filters or {}) if source else {}),
        variables={},
        tags=[],
        creation_mode="template" if template else "duplicate" if source else "default",
        created_at=utcnow(),
        created_by_id=actor.user.id,
    )
    if source is not None:
        row.variables = dict(source.variables or {})
        row.breakdown_colors = row.breakdown_colors or copy.deepcopy(source.breakdown_colors) or []
        row.data_color_theme_id = row.data_color_theme_id or source.data_color_theme_id
    session.add(row)
    session.flush()
    if template is not None:
        templating.apply_template(session, project, actor, row, template)
    if source is not None:
        deep = bool(raw.get("duplicate_tiles"))
        for tile in tiles.source_tiles(session, source.id):
            tiles.copy_tile(session, project, actor, tile, row, deep=deep)
    if body.tags is not None:
        row.tags = normalise_tags(body.tags)
    session.flush()
    log_activity(
        session,
        project=project,
        user_id=actor.user.id,
        scope=ACTIVITY_SCOPE,
        item_id=str(row.id),
        activity="created",
        name=row.name,
        changes=None,
    )
    return present_detail(session, project, row, viewing)


def create_from_template_json(
    session: Session, *, project: ProjectRef, actor: Actor, raw: dict[str, Any], viewing: Viewing
) -> DashboardOut:
    template = templating.validate_template_json(raw.get("template"))
    row = Dashboard(
        project_id=project.id,
        name=None,
        description="",
        filters={},
        variables={},
        breakdown_colors=[],
        tags=[],
        creation_mode="template",
        created_at=utcnow(),
        created_by_id=actor.user.id,
    )
    session.add(row)
    session.flush()
    templating.apply_template(session, project, actor, row, template)
    log_activity(
        session,
        project=project,
        user_id=actor.user.id,
        scope=ACTIVITY_SCOPE,
        item_id=str(row.id),
        activity="created",
        name=row.name,
        changes=None,
    )
    return present_detail(session, project, row, viewing)


def _soft_delete(session: Session, row: Dashboard, *, delete_insights: bool) -> None:
    tile_rows = list(session.scalars(select(DashboardTile).where(DashboardTile.dashboard_id == row.id)))
    for tile in tile_rows:
        tile.deleted = True
    session.flush()
    if not delete_insights:
        return
    for tile in tile_rows:
        if tile.insight_id is None:
            continue
        elsewhere = session.scalar(
            select(func.count())
            .select_from(DashboardTile)
            .join(Dashboard, Dashboard.id == DashboardTile.dashboard_id)
            .where(
                DashboardTile.insight_id == tile.insight_id,
                DashboardTile.deleted.is_not(True),
                Dashboard.deleted.is_(False),
                Dashboard.id != row.id,
            )
        )
        if not elsewhere:
            insight = session.get(Insight, tile.insight_id)
            if insight is not None:
                insight.deleted = True


def _restore(session: Session, row: Dashboard) -> None:
    """Every tile the dashboard ever had comes back, with any soft-deleted insight on it (PostHog's way)."""
    for tile in session.scalars(select(DashboardTile).where(DashboardTile.dashboard_id == row.id)):
        tile.deleted = False
        if tile.insight_id is not None:
            insight = session.get(Insight, tile.insight_id)
            if insight is not None and insight.deleted:
                insight.deleted = False


def update_dashboard(
    session: Session,
    *,
    project: ProjectRef,
    actor: Actor,
    dashboard_id: int,
    body: DashboardWrite,
    sent: set[str],
    raw: dict[str, Any],
    viewing: Viewing,
) -> DashboardOut:
    restoring = "deleted" in sent and body.deleted is False
    row = find_dashboard(session, project, dashboard_id, include_deleted=restoring)
    if not can_edit(session, actor, project, row):
        raise PermissionDenied(NO_EDIT)
    if "restriction_level" in sent and not can_restrict(session, actor, project, row):
        raise PermissionDenied(NO_RESTRICT)
    filters = _filters_from(raw, "filters")
    variables = _filters_from(raw, "variables")
    before = _snapshot(row)
    for name in SIMPLE_FIELDS:
        if name in sent:
            value = getattr(body, name)
            if name == "description":
                value = value or ""
            elif name == "pinned":
                value = bool(value)
            setattr(row, name, value)
    if "restriction_level" in sent and body.restriction_level is not None:
        row.restriction_level = body.restriction_level
    if "tags" in sent:
        row.tags = normalise_tags(body.tags or [])
    if filters is not None:
        row.filters = filters
    if variables is not None:
        row.variables = variables
    if "tiles" in raw:
        tiles.apply_tile_patches(session, project, actor, row, raw["tiles"])
    if raw.get("duplicate_tiles"):
        tiles.duplicate_on_same_dashboard(session, project, actor, row, raw["duplicate_tiles"])
    if "deleted" in sent and body.deleted is not None and body.deleted != row.deleted:
        row.deleted = body.deleted
        if row.deleted:
            _soft_delete(session, row, delete_insights=bool(body.delete_insights))
        else:
            _restore(session, row)
    session.flush()
    changes = diff_changes(ACTIVITY_SCOPE, before, _snapshot(row), DIFFED)
    if changes:
        log_activity(
            session,
            project=project,
            user_id=actor.user.id,
            scope=ACTIVITY_SCOPE,
            item_id=str(row.id),
            activity="updated",
            name=row.name,
            changes=changes,
        )
    return present_detail(session, project, row, viewing)


def move_tile(
    session: Session,
    *,
    project: ProjectRef,
    actor: Actor,
    dashboard_id: int,
    raw: dict[str, Any],
    viewing: Viewing,
) -> DashboardOut:
    """Move a tile to another dashboard of the project; the answer is the source dashboard."""
    source = find_dashboard(session, project, dashboard_id)
    tile_ref, target_id = raw.get("tile"), raw.get("toDashboard")
    if not isinstance(tile_ref, dict) or not isinstance(tile_ref.get("id"), int):
        raise InvalidInput("This field is required.", code="required", attr="tile")
    if not isinstance(target_id, int):
        raise InvalidInput("This field is required.", code="required", attr="toDashboard")
    target = session.get(Dashboard, target_id)
    if target is None or target.deleted or target.project_id != project.id:
        raise InvalidInput("Dashboard not found", attr="toDashboard")
    for dashboard in (source, target):
        if not can_edit(session, actor, project, dashboard):
            raise PermissionDenied(NO_EDIT)
    tile = session.get(DashboardTile, tile_ref["id"])
    if tile is None or tile.dashboard_id != source.id or tile.deleted:
        raise InvalidInput("Tile not found.", attr="tile")
    existing = session.scalars(
        select(DashboardTile).where(
            DashboardTile.dashboard_id == target.id,
            DashboardTile.insight_id == tile.insight_id
            if tile.insight_id is not None
            else DashboardTile.text_id == tile.text_id,
        )
    ).first()
    if existing is not None:
        # The target already had this insight or text (perhaps removed): revive that tile instead.
        existing.deleted = False
        tile.deleted = True
    else:
        tile.dashboard_id = target.id
    session.flush()
    return present_detail(session, project, source, viewing)
