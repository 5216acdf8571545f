"""Tenancy: organizations, projects, users, personal API keys, and who may reach what."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hedgerow.db.types import utcnow, uuid7
from hedgerow.domain.projects.models import (
    Organization,
    OrganizationMembership,
    PersonalAPIKey,
    Project,
    User,
)
from hedgerow.domain.projects.schemas import Actor, InitResult, IssuedKey, ProjectRef, UserBasic
from hedgerow.domain.projects.scopes import normalise_scopes
from hedgerow.errors import AuthenticationFailed, InvalidInput, NotFound, PermissionDenied

DEFAULT_EMAIL = "admin@hedgerow.local"
DEFAULT_ORGANIZATION_NAME = "Default organization"
DEFAULT_PROJECT_NAME = "Default project"
LAST_USED_RESOLUTION = timedelta(hours=1)


def hash_key(value: str) -> str:
    return "sha256$" + hashlib.sha256(value.encode()).hexdigest()


def _new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32).replace("-", "").replace("_", "")[:43]


def user_basic(user: User) -> UserBasic:
    return UserBasic(
        id=user.id,
        uuid=user.uuid,
        distinct_id=user.distinct_id,
        first_name=user.first_name,
        last_name=user.last_name,
        email=user.email,
        is_email_verified=user.is_email_verified,
    )


def project_ref(project: Project) -> ProjectRef:
    return ProjectRef(
        id=project.id,
        organization_id=project.organization_id,
        name=project.name,
        api_token=project.api_token,
        timezone=project.timezone,
        week_start_day=project.week_start_day,
    )


def _default_organization(session: Session) -> Organization:
    org = session.scalars(select(Organization).order_by(Organization.created_at).limit(1)).first()
    if org is None:
        org = Organization(id=str(uuid7()), name=DEFAULT_ORGANIZATION_NAME)
        session.add(org)
        session.flush()
    return org


def _add_project(session: Session, organization: Organization, name: str) -> Project:
    project = Project(organization_id=organization.id, name=name, api_token=_new_token("phc_"))
    session.add(project)
    session.flush()
    return project


def _ensure_user(session: Session, email: str, organization: Organization, *, staff: bool) -> User:
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidInput("Enter a valid email address.", attr="email")
    user = session.scalars(select(User).where(User.email == email)).first()
    if user is None:
        user = User(
            uuid=str(uuid7()),
            distinct_id=secrets.token_urlsafe(24),
            email=email,
            first_name=email.split("@", 1)[0],
            is_staff=staff,
        )
        session.add(user)
        session.flush()
    membership = session.scalars(
        select(OrganizationMembership).where(
            OrganizationMembership.user_id == user.id,
            OrganizationMembership.organization_id == organization.id,
        )
    ).first()
    if membership is None:
        session.add(OrganizationMembership(organization_id=organization.id, user_id=user.id))
        session.flush()
    return user


def _first_project(session: Session, organization: Organization) -> Project:
    project = session.scalars(
        select(Project).where(Project.organization_id == organization.id).order_by(Project.id).limit(1)
    ).first()
    return project or _add_project(session, organization, DEFAULT_PROJECT_NAME)


def _issue_key(
    session: Session, user: User, *, scopes: list[str], scoped_teams: list[int], label: str
) -> IssuedKey:
    value = _new_token("phx_")
    key = PersonalAPIKey(
        id=str(uuid7()),
        user_id=user.id,
        label=label[:40],
        secure_value=hash_key(value),
        mask_value=f"{value[:4]}...{value[-4:]}",
        scopes=scopes,
        scoped_teams=scoped_teams,
        scoped_organizations=[],
    )
    session.add(key)
    session.flush()
    return IssuedKey(id=key.id, key=value, scopes=scopes, scoped_teams=scoped_teams)


def has_users(session: Session) -> bool:
    return session.scalars(select(User.id).limit(1)).first() is not None


def initialise(session: Session, *, email: str | None = None) -> InitResult:
    """Create the default organization, project and user if missing; issue a new all-scopes key."""
    organization = _default_organization(session)
    project = _first_project(session, organization)
    user = _ensure_user(session, email or DEFAULT_EMAIL, organization, staff=True)
    if user.current_project_id is None:
        user.current_project_id = project.id
    issued = _issue_key(session, user, scopes=["*"], scoped_teams=[], label="hedgerow init")
    return InitResult(
        organization_id=organization.id,
        project_id=project.id,
        project_api_token=project.api_token,
        personal_api_key=issued.key,
        user_email=user.email,
    )


def create_key(
    session: Session,
    *,
    email: str | None,
    scopes: list[str],
    project_ids: list[int],
    label: str = "",
) -> IssuedKey:
    organization = _default_organization(session)
    project = _first_project(session, organization)
    user = _ensure_user(session, email or DEFAULT_EMAIL, organization, staff=email is None)
    if user.current_project_id is None:
        user.current_project_id = project.id
    for project_id in project_ids:
        if session.get(Project, project_id) is None:
            raise NotFound(f"Project {project_id} does not exist.", attr="projects")
    return _issue_key(session, user, scopes=normalise_scopes(scopes), scoped_teams=project_ids, label=label)


def create_project(session: Session, *, name: str, week_start_day: int | None = None) -> ProjectRef:
    if not name.strip():
        raise InvalidInput("This field may not be blank.", code="blank", attr="name")
    if week_start_day not in (None, 0, 1):
        raise InvalidInput(
            f'"{week_start_day}" is not a valid choice.', code="invalid_choice", attr="week_start_day"
        )
    project = _add_project(session, _default_organization(session), name.strip())
    project.week_start_day = week_start_day
    return project_ref(project)


def list_projects(session: Session) -> list[ProjectRef]:
    return [project_ref(p) for p in session.scalars(select(Project).order_by(Project.id))]


def get_project_by_token(session: Session, token: str) -> ProjectRef | None:
    project = session.scalars(select(Project).where(Project.api_token == token)).first()
    return project_ref(project) if project else None


def authenticate_key(session: Session, value: str, *, source: str) -> Actor:
    """Find the active user behind a personal API key; `source` names where the key was found."""
    key = session.scalars(
        select(PersonalAPIKey).where(PersonalAPIKey.secure_value == hash_key(value))
    ).first()
    user = session.get(User, key.user_id) if key else None
    if key is None or user is None or not user.is_active:
        raise AuthenticationFailed(f"Personal API key found in request {source} is invalid.")
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key.last_used_at = now
    org_ids = session.scalars(
        select(OrganizationMembership.organization_id).where(OrganizationMembership.user_id == user.id)
    ).all()
    return Actor(
        user=user_basic(user),
        is_staff=user.is_staff,
        key_id=key.id,
        scopes=tuple(key.scopes or ()),
        scoped_teams=tuple(key.scoped_teams or ()),
        scoped_organizations=tuple(key.scoped_organizations or ()),
        organization_ids=frozenset(org_ids),
        current_project_id=user.current_project_id,
    )


def resolve_project(session: Session, actor: Actor, raw_project_id: str) -> ProjectRef:
    """The project named in a URL (`@current` allowed), if this actor may reach it."""
    if raw_project_id == "@current":
        project_id = actor.current_project_id
        if project_id is None:
            raise NotFound("Project not found.")
    else:
        try:
            project_id = int(raw_project_id)
        except ValueError:
            raise NotFound("Project not found.") from None
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("Project not found.")
    if actor.scoped_teams and project.id not in actor.scoped_teams:
        raise PermissionDenied(f"API key does not have access to the requested project: ID {project.id}.")
    if actor.scoped_organizations and project.organization_id not in actor.scoped_organizations:
        raise PermissionDenied(
            f"API key does not have access to the requested organization: ID {project.organization_id}."
        )
    return project_ref(project)


def check_membership(actor: Actor, project: ProjectRef) -> None:
    if project.organization_id not in actor.organization_ids:
        raise PermissionDenied("You don't have access to the project.")


def user_for_email(session: Session, email: str) -> UserBasic:
    user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise NotFound("User not found.")
    return user_basic(user)


def users_by_id(session: Session, ids: set[int]) -> dict[int, UserBasic]:
    if not ids:
        return {}
    return {u.id: user_basic(u) for u in session.scalars(select(User).where(User.id.in_(ids)))}


__all__ = [
    "authenticate_key",
    "check_membership",
    "create_key",
    "create_project",
    "get_project_by_token",
    "has_users",
    "initialise",
    "list_projects",
    "resolve_project",
    "user_basic",
    "users_by_id",
]
