"""Person changes made through the persons API, in the project's activity log (scope "Person")."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hedgerow.domain.activity.schemas import ActivityPage, Change
from hedgerow.domain.activity.service import list_activity, log_activity
from hedgerow.domain.persons.models import Person
from hedgerow.domain.persons.service import find_person
from hedgerow.domain.projects.schemas import ProjectRef

ACTIVITY_SCOPE = "Person"


def log_person_activity(
    session: Session,
    *,
    project: ProjectRef,
    user_id: int | None,
    person: Person,
    activity: str,
    action: str | None = None,
    after: Any = None,
) -> None:
    """One entry, keyed by the person's primary key and named by its UUID, as PostHog logs them."""
    changes = [Change(type=ACTIVITY_SCOPE, action=action, field=None, after=after)] if action else None
    log_activity(
        session,
        project=project,
        user_id=user_id,
        scope=ACTIVITY_SCOPE,
        item_id=str(person.id),
        activity=activity,
        name=person.uuid,
        changes=changes,
    )


def person_activity(
    session: Session, *, project: ProjectRef, person_id: str | None, page: int, limit: int
) -> ActivityPage:
    """Every person's entries, or one person's (`person_id`: primary key or UUID), newest first."""
    item_id = None
    if person_id is not None:
        item_id = str(find_person(session, project_id=project.id, person_id=person_id).id)
    return list_activity(
        session, project_id=project.id, scope=ACTIVITY_SCOPE, item_id=item_id, page=page, limit=limit
    )
