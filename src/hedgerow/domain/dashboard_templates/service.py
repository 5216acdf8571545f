"""Dashboard templates: list, search, create, update and soft delete; global templates as data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hedgerow.db.types import utcnow, uuid7
from hedgerow.domain.activity.service import diff_changes, log_activity
from hedgerow.domain.dashboard_templates import search
from hedgerow.domain.dashboard_templates.models import DashboardTemplate
from hedgerow.domain.dashboard_templates.schemas import DashboardTemplateOut, DashboardTemplateWrite
from hedgerow.domain.projects.models import Project, User
from hedgerow.domain.projects.schemas import Actor, ProjectRef
from hedgerow.errors import InvalidInput, NotFound, PermissionDenied

ACTIVITY_SCOPE = "DashboardTemplate"
DIFFED_FIELDS = (
    "template_name",
    "dashboard_description",
    "dashboard_filters",
    "tags",
    "tiles",
    "variables",
    "deleted",
    "image_url",
    "scope",
    "availability_contexts",
)
NO_EDIT_PERMISSION = "You don't have edit permissions for this dashboard template."


@dataclass(frozen=True)
class TemplatePage:
    count: int
    results: list[DashboardTemplateOut]


def _snapshot(row: DashboardTemplate) -> dict[str, Any]:
    return {name: getattr(row, name) for name in DIFFED_FIELDS}


def _present(session: Session, rows: list[DashboardTemplate]) -> list[DashboardTemplateOut]:
    return [
        DashboardTemplateOut(
            id=r.id,
            template_name=r.template_name,
            dashboard_description=r.dashboard_description,
            dashboard_filters=r.dashboard_filters,
            tags=r.tags,
            tiles=r.tiles,
            variables=r.variables,
            deleted=r.deleted,
            created_at=r.created_at,
            created_by=r.created_by_id,
            image_url=r.image_url,
            team_id=r.project_id,
            scope=r.scope,
            availability_contexts=r.availability_contexts,
        )
        for r in rows
    ]


def _visible(project: ProjectRef, scope: str | None) -> ColumnElement[bool]:
    if scope == "global":
        return DashboardTemplate.scope == "global"
    if scope == "feature_flag":
        # Feature-flag templates are shared across the organization's projects.
        org_projects = select(Project.id).where(Project.organization_id == project.organization_id)
        return (DashboardTemplate.scope == "feature_flag") & DashboardTemplate.project_id.in_(org_projects)
    return or_(DashboardTemplate.project_id == project.id, DashboardTemplate.scope == "global")


def list_templates(
    session: Session,
    *,
    project: ProjectRef,
    scope: str | None,
    search_text: str | None,
    limit: int,
    offset: int,
) -> TemplatePage:
    rows = list(
        session.scalars(
            select(DashboardTemplate)
            .where(_visible(project, scope), DashboardTemplate.deleted.is_(False))
            .order_by(DashboardTemplate.created_at, DashboardTemplate.id)
        )
    )
    if search_text:
        terms = search.query_terms(search_text)
        ranked = [(search.rank(terms, r.template_name, r.tags, r.dashboard_description), r) for r in rows]
        ranked = [pair for pair in ranked if pair[0] > search.MIN_RANK]
        ranked.sort(key=lambda pair: -pair[0])
        rows = [r for _, r in ranked]
    return TemplatePage(count=len(rows), results=_present(session, rows[offset : offset + limit]))


def _find(session: Session, project: ProjectRef, template_id: str, scope: str | None) -> DashboardTemplate:
    row = session.scalars(
        select(DashboardTemplate).where(
            DashboardTemplate.id == template_id,
            _visible(project, scope),
            DashboardTemplate.deleted.is_(False),
        )
    ).first()
    if row is None:
        raise NotFound()
    return row


def get_template(
    session: Session, *, project: ProjectRef, template_id: str, scope: str | None
) -> DashboardTemplateOut:
    return _present(session, [_find(session, project, template_id, scope)])[0]


def check_may_write(actor: Actor) -> None:
    """Only instance staff write templates, whatever their scope (PostHog's rule for every write).

    Checked before the body is read, as PostHog's permission classes are.
    """
    if not actor.is_staff:
        raise PermissionDenied(NO_EDIT_PERMISSION)


def _creator_id(session: Session, value: Any) -> int | None:
    """`created_by` is a plain user id the client sets (or clears); it is never the requester implicitly."""
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError
        user_id = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"Incorrect type. Expected pk value, received {type(value).__name__}.",
            code="incorrect_type",
            attr="created_by",
        ) from None
    if session.get(User, user_id) is None:
        raise InvalidInput(
            f'Invalid pk "{value}" - object does not exist.', code="does_not_exist", attr="created_by"
        )
    return user_id


def _require_tiles(tiles: list[Any] | None) -> None:
    if not tiles:
        raise InvalidInput("You need to provide tiles for the template.")


def _ensure_unique_name(session: Session, project: ProjectRef, name: str | None, exclude: str | None) -> None:
    if name is None:
        return
    clash = session.scalars(
        select(DashboardTemplate.id).where(
            DashboardTemplate.project_id == project.id,
            DashboardTemplate.template_name == name,
            DashboardTemplate.deleted.is_(False),
            DashboardTemplate.id != (exclude or ""),
        )
    ).first()
    if clash is not None:
        raise _duplicate_name()


def _duplicate_name() -> InvalidInput:
    return InvalidInput(
        "A dashboard template with this name already exists for this project.",
        code="unique_template_name_per_team",
    )


def _flush(session: Session) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise _duplicate_name() from None


def create_template(
    session: Session, *, project: ProjectRef, actor: Actor, body: DashboardTemplateWrite, sent: set[str]
) -> DashboardTemplateOut:
    check_may_write(actor)
    if "tiles" not in sent or not body.tiles:
        _require_tiles(None)
    _ensure_unique_name(session, project, body.template_name, exclude=None)
    creator_id = _creator_id(session, body.created_by)
    row = DashboardTemplate(
        id=str(uuid7()),
        project_id=project.id,
        template_name=body.template_name,
        dashboard_description=body.dashboard_description,
        dashboard_filters=body.dashboard_filters,
        tags=body.tags,
        tiles=body.tiles,
        variables=body.variables,
        deleted=bool(body.deleted),
        image_url=body.image_url,
        scope=body.scope or "team",
        availability_contexts=body.availability_contexts,
        created_at=utcnow(),
        created_by_id=creator_id,
    )
    session.add(row)
    _flush(session)
    log_activity(
        session,
        project=project,
        user_id=actor.user.id,
        scope=ACTIVITY_SCOPE,
        item_id=row.id,
        activity="created",
        name=row.template_name,
        changes=[],
    )
    return _present(session, [row])[0]


def update_template(
    session: Session,
    *,
    project: ProjectRef,
    actor: Actor,
    template_id: str,
    body: DashboardTemplateWrite,
    sent: set[str],
    scope: str | None,
) -> DashboardTemplateOut:
    row = _find(session, project, template_id, scope)
    check_may_write(actor)
    if "tiles" in sent:
        _require_tiles(body.tiles)
    if "scope" in sent and body.scope == "team" and row.scope == "global" and row.project_id is None:
        raise InvalidInput("The original templates cannot be made private as they would be lost.")
    creator_id = _creator_id(session, body.created_by) if "created_by" in sent else row.created_by_id
    before = _snapshot(row)
    row.created_by_id = creator_id
    for name in sent & set(DIFFED_FIELDS):
        value = getattr(body, name)
        if name == "deleted":
            value = bool(value)
        elif name == "scope":
            value = value or "team"
        setattr(row, name, value)
    if not row.deleted and "template_name" in sent and row.project_id is not None:
        _ensure_unique_name(session, project, row.template_name, exclude=row.id)
    _flush(session)
    changes = diff_changes(ACTIVITY_SCOPE, before, _snapshot(row), DIFFED_FIELDS)
    if changes:
        activity = "deleted" if row.deleted and not before["deleted"] else "updated"
        log_activity(
            session,
            project=project,
            user_id=actor.user.id,
            scope=ACTIVITY_SCOPE,
            item_id=row.id,
            activity=activity,
            name=row.template_name,
            changes=changes,
        )
    return _present(session, [row])[0]


def _bundled_templates() -> list[dict[str, Any]]:
    folder = resources.files("hedgerow.domain.dashboard_templates").joinpath("data")
    return [
        json.loads(entry.read_text(encoding="utf-8"))
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".json")
    ]


def ensure_global_templates(session: Session) -> int:
    """Insert the shipped global templates that are missing; returns how many were added."""
    existing = set(
        session.scalars(select(DashboardTemplate.template_name).where(DashboardTemplate.project_id.is_(None)))
    )
    added = 0
    for doc in _bundled_templates():
        if doc["template_name"] in existing:
            continue
        session.add(
            DashboardTemplate(
                id=str(uuid7()),
                project_id=None,
                template_name=doc["template_name"],
                dashboard_description=doc.get("dashboard_description"),
                dashboard_filters=doc.get("dashboard_filters"),
                tags=doc.get("tags"),
                tiles=doc["tiles"],
                variables=doc.get("variables"),
                deleted=False,
                image_url=doc.get("image_url"),
                scope="global",
                availability_contexts=doc.get("availability_contexts"),
                created_at=utcnow(),
            )
        )
        added += 1
    session.flush()
    return added


def find_template_by_name(
    session: Session, *, project: ProjectRef, name: str, built_in: bool = False
) -> DashboardTemplateOut | None:
    """A template for `use_template`: this project's first, then global ones (`built_in`: shipped only)."""
    visible = (
        DashboardTemplate.project_id.is_(None)
        if built_in
        else or_(DashboardTemplate.project_id == project.id, DashboardTemplate.scope == "global")
    )
    rows = session.scalars(
        select(DashboardTemplate)
        .where(DashboardTemplate.template_name == name, DashboardTemplate.deleted.is_(False), visible)
        .order_by(DashboardTemplate.project_id.is_(None), DashboardTemplate.created_at)
    ).all()
    return _present(session, [rows[0]])[0] if rows else None
