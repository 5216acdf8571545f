"""Who may edit a dashboard: everyone in the project at level 21; at 37 its creator and admins."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hedgerow.domain.dashboards.models import Dashboard
from hedgerow.domain.projects.models import OrganizationMembership
from hedgerow.domain.projects.schemas import Actor, ProjectRef

ADMIN_LEVEL = 8  # PostHog's OrganizationMembership levels: member 1, admin 8, owner 15
NO_EDIT = "You don't have edit permissions for this dashboard."
NO_RESTRICT = (
    "Only the dashboard owner and project admins have the restriction rights required to change "
    "the dashboard's restriction level."
)


def is_admin(session: Session, user_id: int | None, organization_id: str) -> bool:
    if user_id is None:
        return False
    level = session.scalar(
        select(OrganizationMembership.level).where(
            OrganizationMembership.user_id == user_id,
            OrganizationMembership.organization_id == organization_id,
        )
    )
    return level is not None and level >= ADMIN_LEVEL


def is_project_admin(session: Session, actor: Actor, project: ProjectRef) -> bool:
    return is_admin(session, actor.user.id, project.organization_id)


def privilege_level(viewer_id: int | None, viewer_is_admin: bool, dashboard: Dashboard) -> int:
    """37 (can edit) unless the dashboard is restricted and the viewer is neither its owner nor an admin."""
    if dashboard.restriction_level < 37 or viewer_is_admin or dashboard.created_by_id == viewer_id:
        return 37
    return 21


def can_restrict(session: Session, actor: Actor, project: ProjectRef, dashboard: Dashboard) -> bool:
    return dashboard.created_by_id == actor.user.id or is_project_admin(session, actor, project)


def can_edit(session: Session, actor: Actor, project: ProjectRef, dashboard: Dashboard) -> bool:
    if dashboard.restriction_level < 37:
        return True
    return can_restrict(session, actor, project, dashboard)


def access_level(actor_user_id: int | None, dashboard: Dashboard) -> str | None:
    if actor_user_id is None:
        return None
    return "manager" if dashboard.created_by_id == actor_user_id else "editor"
