"""Write and read the activity log: created / updated / deleted, with field-level changes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hedgerow.db.types import utcnow, uuid7
from hedgerow.domain.activity.models import ActivityLog
from hedgerow.domain.activity.schemas import (
    ActivityDetail,
    ActivityEntry,
    ActivityPage,
    ActivityUser,
    Change,
)
from hedgerow.domain.projects.models import User
from hedgerow.domain.projects.schemas import ProjectRef


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def diff_changes(
    scope: str, before: Mapping[str, Any], after: Mapping[str, Any], fields: Iterable[str]
) -> list[Change]:
    """Field-level changes between two snapshots, in PostHog's change-object shape."""
    changes: list[Change] = []
    for name in fields:
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if _is_empty(old) and not _is_empty(new):
            action = "created"
        elif not _is_empty(old) and _is_empty(new):
            action = "deleted"
        else:
            action = "changed"
        changes.append(Change(type=scope, action=action, field=name, before=old, after=new))
    return changes


def log_activity(
    session: Session,
    *,
    project: ProjectRef,
    user_id: int | None,
    scope: str,
    item_id: str,
    activity: str,
    name: str | None,
    changes: list[Change] | None,
    short_id: str | None = None,
) -> None:
    detail = ActivityDetail(changes=changes, name=name, short_id=short_id)
    session.add(
        ActivityLog(
            id=str(uuid7()),
            project_id=project.id,
            organization_id=project.organization_id,
            user_id=user_id,
            is_system=user_id is None,
            activity=activity,
            scope=scope,
            item_id=str(item_id),
            detail=detail.model_dump(mode="json"),
            created_at=utcnow(),
        )
    )


def list_activity(
    session: Session,
    *,
    project_id: int,
    scope: str | None,
    item_id: str | None = None,
    page: int = 1,
    limit: int = 100,
) -> ActivityPage:
    conditions = [ActivityLog.project_id == project_id]
    if scope is not None:
        conditions.append(ActivityLog.scope == scope)
    if item_id is not None:
        conditions.append(ActivityLog.item_id == str(item_id))
    total = session.scalar(select(func.count()).select_from(ActivityLog).where(*conditions)) or 0
    rows = session.execute(
        select(ActivityLog, User)
        .outerjoin(User, User.id == ActivityLog.user_id)
        .where(*conditions)
        .order_by(ActivityLog.created_at.desc(), ActivityLog.id.desc())
        .limit(limit)
        .offset((page - 1) * limit)
    ).all()
    entries = [
        ActivityEntry(
            id=row.id,
            user=(
                ActivityUser(first_name=user.first_name, email=user.email)
                if user is not None
                else ActivityUser(first_name="System", email=None, is_system=True)
            ),
            activity=row.activity,
            scope=row.scope,
            item_id=row.item_id,
            detail=ActivityDetail.model_validate(row.detail),
            created_at=row.created_at,
        )
        for row, user in rows
    ]
    return ActivityPage(results=entries, total_count=total, page=page, limit=limit)
