"""Writing tiles: PATCH `tiles` (text tiles, layouts, colours, removal) and tile duplication."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hedgerow.db.types import utcnow
from hedgerow.domain.dashboards.models import Dashboard, DashboardTile, Text
from hedgerow.domain.insights.models import Insight
from hedgerow.domain.insights.service import new_short_id
from hedgerow.domain.projects.models import OrganizationMembership
from hedgerow.domain.projects.schemas import Actor, ProjectRef
from hedgerow.errors import InvalidInput

TEXT_BODY_LIMIT = 4000
TILE_FIELDS = ("deleted", "color", "layouts", "filters_overrides")


def _tile_of(session: Session, dashboard: Dashboard, tile_id: Any) -> DashboardTile:
    tile = session.get(DashboardTile, tile_id) if isinstance(tile_id, int) else None
    if tile is None or tile.dashboard_id != dashboard.id:
        raise InvalidInput("Tile not found.", attr="tiles")
    return tile


def _apply_fields(tile: DashboardTile, patch: dict[str, Any]) -> None:
    if "deleted" in patch:
        tile.deleted = bool(patch["deleted"]) if patch["deleted"] is not None else None
    if "color" in patch:
        if patch["color"] is not None and not isinstance(patch["color"], str):
            raise InvalidInput("Not a valid string.", attr="tiles__color")
        tile.color = patch["color"]
    if "layouts" in patch:
        tile.layouts = patch["layouts"] if isinstance(patch["layouts"], dict) else {}
    if "filters_overrides" in patch:
        value = patch["filters_overrides"]
        tile.filters_overrides = value if isinstance(value, dict) else {}


def _creator_id(session: Session, project: ProjectRef, given: Any) -> int | None:
    if not isinstance(given, dict) or not isinstance(given.get("id"), int):
        return None
    member = session.scalar(
        select(OrganizationMembership.user_id).where(
            OrganizationMembership.user_id == given["id"],
            OrganizationMembership.organization_id == project.organization_id,
        )
    )
    if member is None:
        raise InvalidInput("User not found in this organization.", attr="text")
    return int(member)


def _upsert_text(
    session: Session, project: ProjectRef, actor: Actor, dashboard: Dashboard, payload: dict[str, Any]
) -> Text:
    body = payload.get("body")
    if body is not None and not isinstance(body, str):
        raise InvalidInput("Not a valid string.", attr="text__body")
    if body is not None and len(body) > TEXT_BODY_LIMIT:
        raise InvalidInput(
            f"Text body cannot exceed {TEXT_BODY_LIMIT} characters", code="max_length", attr="text__body"
        )
    # Keeping the sent creator marks this as an edit; without one the requester becomes the author.
    creator = _creator_id(session, project, payload.get("created_by"))
    text_id = payload.get("id")
    if text_id is not None:
        text = session.get(Text, text_id) if isinstance(text_id, int) else None
        on_dashboard = text is not None and session.scalar(
            select(DashboardTile.id).where(
                DashboardTile.text_id == text.id, DashboardTile.dashboard_id == dashboard.id
            )
        )
        if text is None or text.project_id != project.id or not on_dashboard:
            raise InvalidInput("Text tile not found.", attr="text")
    else:
        text = Text(project_id=project.id)
        session.add(text)
    text.body = body
    text.last_modified_at = utcnow()
    if creator is not None:
        text.created_by_id = creator
        text.last_modified_by_id = actor.user.id
    else:
        text.created_by_id = actor.user.id
        text.last_modified_by_id = None
    session.flush()
    return text


def apply_tile_patches(
    session: Session, project: ProjectRef, actor: Actor, dashboard: Dashboard, patches: Any
) -> None:
    """Each patch edits one tile; tiles not mentioned are left alone (not a replace-all)."""
    if not isinstance(patches, list):
        raise InvalidInput('Expected a list of items but got type "dict".', code="not_a_list", attr="tiles")
    for raw in patches:
        if not isinstance(raw, dict):
            raise InvalidInput("Invalid data. Expected a dictionary.", attr="tiles")
        patch = {k: v for k, v in raw.items() if k not in ("is_cached", "order", "insight")}
        if isinstance(patch.get("text"), dict) and patch["text"]:
            text = _upsert_text(session, project, actor, dashboard, patch["text"])
            tile = _tile_of(session, dashboard, patch["id"]) if patch.get("id") is not None else None
            if tile is None:
                tile = DashboardTile(
                    dashboard_id=dashboard.id, text_id=text.id, layouts={}, filters_overrides={}
                )
                session.add(tile)
            tile.text_id = text.id
            _apply_fields(tile, patch)
        elif any(name in patch for name in TILE_FIELDS):
            if patch.get("id") is None:
                raise InvalidInput("A tile needs an insight or a text.", attr="tiles")
            _apply_fields(_tile_of(session, dashboard, patch["id"]), patch)
        session.flush()


def copy_insight(session: Session, project: ProjectRef, actor: Actor, source: Insight) -> Insight:
    now = utcnow()
    copy = Insight(
        project_id=project.id,
        short_id=new_short_id(session, project.id),
        name=f"{source.name} (Copy)" if source.name is not None else None,
        derived_name=source.derived_name,
        description=source.description,
        query=source.query,
        filters=source.filters or {},
        saved=source.saved,
        is_sample=False,
        tags=list(source.tags or []),
        created_at=now,
        created_by_id=actor.user.id,
        last_modified_at=now,
        last_modified_by_id=actor.user.id,
        updated_at=now,
    )
    session.add(copy)
    session.flush()
    return copy


def copy_tile(
    session: Session,
    project: ProjectRef,
    actor: Actor,
    tile: DashboardTile,
    target: Dashboard,
    *,
    deep: bool,
    layouts: dict[str, Any] | None = None,
) -> DashboardTile:
    """A tile on `target` showing the same insight/text, or (deep) fresh copies of them."""
    insight_id, text_id = tile.insight_id, tile.text_id
    if deep and insight_id is not None:
        source = session.get(Insight, insight_id)
        insight_id = copy_insight(session, project, actor, source).id if source is not None else None
    if deep and text_id is not None:
        source_text = session.get(Text, text_id)
        new_text = Text(
            project_id=project.id,
            body=source_text.body if source_text else None,
            created_by_id=actor.user.id,
            last_modified_at=utcnow(),
        )
        session.add(new_text)
        session.flush()
        text_id = new_text.id
    copied = DashboardTile(
        dashboard_id=target.id,
        insight_id=insight_id,
        text_id=text_id,
        layouts=dict(layouts if layouts is not None else (tile.layouts or {})),
        color=tile.color,
        filters_overrides=dict(tile.filters_overrides or {}) if deep else {},
    )
    session.add(copied)
    session.flush()
    return copied


def duplicate_on_same_dashboard(
    session: Session, project: ProjectRef, actor: Actor, dashboard: Dashboard, entries: Any
) -> None:
    """PATCH `duplicate_tiles`: deep copies of listed tiles, placed where the client asked."""
    if not isinstance(entries, list):
        return
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        tile = _tile_of(session, dashboard, entry.get("id"))
        layouts = entry.get("layouts") if isinstance(entry.get("layouts"), dict) else {}
        copy_tile(session, project, actor, tile, dashboard, deep=True, layouts=layouts)


def source_tiles(session: Session, dashboard_id: int) -> list[DashboardTile]:
    return list(
        session.scalars(
            select(DashboardTile)
            .where(DashboardTile.dashboard_id == dashboard_id, DashboardTile.deleted.is_not(True))
            .order_by(DashboardTile.id)
        )
    )
