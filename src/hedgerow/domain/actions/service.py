"""Actions: list, create, retrieve, update and soft delete; steps resolved for cohort calculation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hedgerow.db.types import utcnow
from hedgerow.domain.actions.models import Action
from hedgerow.domain.actions.schemas import ActionOut, ActionStep, ActionWrite
from hedgerow.domain.activity.service import diff_changes, log_activity
from hedgerow.domain.projects.schemas import Actor, ProjectRef
from hedgerow.domain.projects.service import users_by_id
from hedgerow.errors import InvalidInput, NotFound

ACTIVITY_SCOPE = "Action"
DIFFED_FIELDS = (
    "name",
    "description",
    "tags",
    "post_to_slack",
    "slack_message_format",
    "steps",
    "deleted",
    "pinned_at",
)


@dataclass(frozen=True)
class ActionPage:
    count: int
    results: list[ActionOut]


def _snapshot(row: Action) -> dict[str, Any]:
    return {name: getattr(row, name) for name in DIFFED_FIELDS}


def _present(session: Session, rows: list[Action]) -> list[ActionOut]:
    users = users_by_id(session, {r.created_by_id for r in rows if r.created_by_id is not None})
    return [
        ActionOut(
            id=r.id,
            name=r.name,
            description=r.description,
            tags=r.tags,
            post_to_slack=r.post_to_slack,
            slack_message_format=r.slack_message_format,
            steps=[ActionStep.model_validate(s) for s in r.steps],
            created_at=r.created_at,
            created_by=users.get(r.created_by_id) if r.created_by_id is not None else None,
            deleted=r.deleted,
            last_calculated_at=None,
            team_id=r.project_id,
            pinned_at=r.pinned_at,
        )
        for r in rows
    ]


def _steps_json(steps: list[ActionStep] | None) -> list[dict[str, Any]]:
    return [s.model_dump(mode="json") for s in steps or []]


def _ensure_unique_name(session: Session, project_id: int, name: str | None, exclude: int | None) -> None:
    if not name:
        return
    clash = session.scalars(
        select(Action.id)
        .where(
            Action.project_id == project_id,
            Action.name == name,
            Action.deleted.is_(False),
            Action.id != (exclude or 0),
        )
        .order_by(Action.id)
    ).first()
    if clash is not None:
        raise InvalidInput(
            f"This project already has an action with this name, ID {clash}", code="unique", attr="name"
        )


def list_actions(session: Session, *, project: ProjectRef, limit: int, offset: int) -> ActionPage:
    where = (Action.project_id == project.id, Action.deleted.is_(False))
    total = session.scalar(select(func.count()).select_from(Action).where(*where)) or 0
    rows = list(
        session.scalars(
            select(Action).where(*where).order_by(Action.name, Action.id).limit(limit).offset(offset)
        )
    )
    return ActionPage(count=total, results=_present(session, rows))


def _find(session: Session, project: ProjectRef, action_id: str) -> Action:
    if not action_id.isdigit():
        raise NotFound()
    row = session.scalars(
        select(Action).where(Action.id == int(action_id), Action.project_id == project.id)
    ).first()
    if row is None:
        raise NotFound()
    return row


def get_action(session: Session, *, project: ProjectRef, action_id: str) -> ActionOut:
    return _present(session, [_find(session, project, action_id)])[0]


def create_action(session: Session, *, project: ProjectRef, actor: Actor, body: ActionWrite) -> ActionOut:
    _ensure_unique_name(session, project.id, body.name, exclude=None)
    now = utcnow()
    row = Action(
        project_id=project.id,
        name=body.name,
        description=body.description or "",
        tags=body.tags or [],
        post_to_slack=bool(body.post_to_slack),
        slack_message_format=body.slack_message_format or "",
        steps=_steps_json(body.steps),
        created_at=now,
        updated_at=now,
        created_by_id=actor.user.id,
        deleted=bool(body.deleted),
        pinned_at=body.pinned_at,
    )
    session.add(row)
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
    return _present(session, [row])[0]


def update_action(
    session: Session, *, project: ProjectRef, actor: Actor, action_id: str, body: ActionWrite, sent: set[str]
) -> ActionOut:
    row = _find(session, project, action_id)
    before = _snapshot(row)
    for name in sent & set(DIFFED_FIELDS):
        value = getattr(body, name)
        if name == "steps":
            value = _steps_json(value)
        elif name in ("deleted", "post_to_slack"):
            value = bool(value)
        elif name in ("description", "slack_message_format"):
            value = value or ""
        elif name == "tags":
            value = value or []
        setattr(row, name, value)
    if not row.deleted and ("name" in sent or ("deleted" in sent and before["deleted"])):
        _ensure_unique_name(session, project.id, row.name, exclude=row.id)
    row.updated_at = utcnow()
    session.flush()
    changes = diff_changes(ACTIVITY_SCOPE, before, _snapshot(row), DIFFED_FIELDS)
    if changes:
        log_activity(
            session,
            project=project,
            user_id=actor.user.id,
            scope=ACTIVITY_SCOPE,
            item_id=str(row.id),
            activity="deleted" if row.deleted and not before["deleted"] else "updated",
            name=row.name,
            changes=changes,
        )
    return _present(session, [row])[0]


def action_steps(
    session: Session, *, project_id: int, action_ids: Iterable[int]
) -> dict[int, list[dict[str, Any]]]:
    """Steps of the given actions of one project, for compiling behavioral criteria.

    Deleted actions still resolve: a cohort that refers to one keeps its meaning, as in PostHog.
    """
    ids = sorted(set(action_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Action.id, Action.steps).where(Action.project_id == project_id, Action.id.in_(ids))
    ).all()
    return {row.id: list(row.steps) for row in rows}
