"""Sharing a dashboard: its configuration, token rotation, passwords, and what a token may see."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hedgerow.db.types import utcnow
from hedgerow.domain.activity.service import log_activity
from hedgerow.domain.dashboards.models import Dashboard, DashboardTile
from hedgerow.domain.dashboards.permissions import NO_EDIT, can_edit
from hedgerow.domain.dashboards.presentation import present_detail
from hedgerow.domain.insights.models import Insight
from hedgerow.domain.insights.presentation import Viewing
from hedgerow.domain.projects.models import Project, User
from hedgerow.domain.projects.schemas import Actor, ProjectRef
from hedgerow.domain.projects.service import project_ref
from hedgerow.domain.sharing import passwords
from hedgerow.domain.sharing.models import SharePassword, SharingConfiguration
from hedgerow.domain.sharing.options import SETTINGS_KEYS, clean_settings
from hedgerow.domain.sharing.schemas import (
    CreatedPasswordOut,
    PasswordWrite,
    SharePasswordOut,
    SharingOut,
    SharingWrite,
)
from hedgerow.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from hedgerow.store.base import AnalyticsStore

GRACE_PERIOD = timedelta(minutes=5)
MIN_PASSWORD_LENGTH = 8
HIDDEN_DETAILS = ("created_by", "last_modified_by", "created_at", "last_modified_at")


class SharingRefusal(DomainError):
    """Refusals PostHog answers with a bare `{"error": ...}` body; `status` says which status."""

    def __init__(self, detail: str, status: int):
        super().__init__(detail, code="sharing_refused")
        self.status = status


def new_token() -> str:
    return secrets.token_urlsafe(22)


def _dashboard(session: Session, project: ProjectRef, dashboard_id: int) -> Dashboard:
    row = session.get(Dashboard, dashboard_id)
    if row is None or row.project_id != project.id or row.deleted:
        raise NotFound("Dashboard not found.")
    return row


def _current(session: Session, dashboard_id: int) -> SharingConfiguration | None:
    return session.scalars(
        select(SharingConfiguration)
        .where(SharingConfiguration.dashboard_id == dashboard_id, SharingConfiguration.expires_at.is_(None))
        .order_by(SharingConfiguration.id.desc())
    ).first()


def _present(session: Session, config: SharingConfiguration | None, dashboard: Dashboard) -> SharingOut:
    if config is None:
        # Nothing is saved until the first PATCH: every GET shows a fresh token, and writes nothing.
        return SharingOut(
            created_at=None,
            enabled=False,
            access_token=new_token(),
            settings=None,
            password_required=False,
            share_passwords=[],
        )
    rows = session.execute(
        select(SharePassword, User.email)
        .outerjoin(User, User.id == SharePassword.created_by_id)
        .where(SharePassword.sharing_configuration_id == config.id, SharePassword.is_active.is_(True))
        .order_by(SharePassword.created_at.desc(), SharePassword.id.desc())
    ).all()
    return SharingOut(
        created_at=config.created_at,
        enabled=config.enabled,
        access_token=config.access_token,
        settings=config.settings,
        password_required=config.password_required,
        share_passwords=[
            SharePasswordOut(
                id=p.id,
                created_at=p.created_at,
                note=p.note,
                created_by_email=email or "deleted user",
                is_active=p.is_active,
            )
            for p, email in rows
        ],
    )


def get_sharing(session: Session, *, project: ProjectRef, dashboard_id: int) -> SharingOut:
    dashboard = _dashboard(session, project, dashboard_id)
    return _present(session, _current(session, dashboard.id), dashboard)


def _editable(session: Session, project: ProjectRef, actor: Actor, dashboard_id: int) -> Dashboard:
    dashboard = _dashboard(session, project, dashboard_id)
    if not can_edit(session, actor, project, dashboard):
        raise PermissionDenied(NO_EDIT)
    return dashboard


def _ensure_config(session: Session, project: ProjectRef, dashboard: Dashboard) -> SharingConfiguration:
    config = _current(session, dashboard.id)
    if config is None:
        config = SharingConfiguration(
            project_id=project.id,
            dashboard_id=dashboard.id,
            created_at=utcnow(),
            enabled=False,
            access_token=new_token(),
            settings=None,
            password_required=False,
        )
        session.add(config)
        session.flush()
    return config


def update_sharing(
    session: Session,
    *,
    project: ProjectRef,
    actor: Actor,
    dashboard_id: int,
    body: SharingWrite,
    sent: set[str],
) -> SharingOut:
    dashboard = _editable(session, project, actor, dashboard_id)
    settings = clean_settings(body.settings) if "settings" in sent else None
    config = _ensure_config(session, project, dashboard)
    if "enabled" in sent and body.enabled is not None:
        config.enabled = body.enabled
    if "settings" in sent:
        config.settings = settings
    if "password_required" in sent and body.password_required is not None:
        config.password_required = body.password_required
    session.flush()
    return _present(session, config, dashboard)


def refresh_sharing(session: Session, *, project: ProjectRef, actor: Actor, dashboard_id: int) -> SharingOut:
    """A new token; the old one keeps working for the grace period.

    Unlike the PostHog version read, password protection and the active passwords move to the new
    configuration: rotating a token should never make a protected dashboard public.
    """
    dashboard = _editable(session, project, actor, dashboard_id)
    old = _current(session, dashboard.id)
    fresh = SharingConfiguration(
        project_id=project.id,
        dashboard_id=dashboard.id,
        created_at=utcnow(),
        enabled=old.enabled if old else False,
        access_token=new_token(),
        settings=old.settings if old else None,
        password_required=old.password_required if old else False,
    )
    session.add(fresh)
    session.flush()
    if old is not None:
        old.expires_at = utcnow() + GRACE_PERIOD
        for password in session.scalars(
            select(SharePassword).where(
                SharePassword.sharing_configuration_id == old.id, SharePassword.is_active.is_(True)
            )
        ):
            session.add(
                SharePassword(
                    sharing_configuration_id=fresh.id,
                    password_hash=password.password_hash,
                    created_by_id=password.created_by_id,
                    created_at=password.created_at,
                    note=password.note,
                )
            )
    session.flush()
    return _present(session, fresh, dashboard)


def create_password(
    session: Session, *, project: ProjectRef, actor: Actor, dashboard_id: int, body: PasswordWrite
) -> CreatedPasswordOut:
    dashboard = _editable(session, project, actor, dashboard_id)
    config = _current(session, dashboard.id)
    if config is None or not config.password_required:
        raise SharingRefusal("Password protection must be enabled before creating passwords", 400)
    raw = (body.raw_password or "").strip() and body.raw_password
    if raw and len(raw) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("Password must be at least 8 characters long.", attr="raw_password")
    if body.note is not None and len(body.note) > 100:
        raise InvalidInput(
            "Ensure this field has no more than 100 characters.", code="max_length", attr="note"
        )
    password = raw or secrets.token_urlsafe(16)
    row = SharePassword(
        sharing_configuration_id=config.id,
        password_hash=passwords.hash_password(password),
        created_by_id=actor.user.id,
        created_at=utcnow(),
        note=body.note,
    )
    session.add(row)
    session.flush()
    return CreatedPasswordOut(
        id=row.id,
        password=password,
        note=row.note,
        created_at=row.created_at,
        created_by_email=actor.user.email,
    )


def deactivate_password(
    session: Session, *, project: ProjectRef, actor: Actor, dashboard_id: int, password_id: int
) -> None:
    dashboard = _editable(session, project, actor, dashboard_id)
    config = _current(session, dashboard.id)
    row = session.get(SharePassword, password_id)
    if config is None or row is None or row.sharing_configuration_id != config.id or not row.is_active:
        raise NotFound("Password not found")
    row.is_active = False


# --- the public side -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedAccess:
    config_id: int
    project: ProjectRef
    dashboard_id: int
    access_token: str
    password_required: bool
    settings: dict[str, Any]


def resolve_token(session: Session, token: str) -> SharedAccess | None:
    """The enabled, unexpired configuration behind a token, or None (an HTML 404 to the caller)."""
    now = utcnow()
    config = session.scalars(
        select(SharingConfiguration).where(
            SharingConfiguration.access_token == token,
            SharingConfiguration.enabled.is_(True),
            or_(SharingConfiguration.expires_at.is_(None), SharingConfiguration.expires_at > now),
        )
    ).first()
    if config is None:
        return None
    project = session.get(Project, config.project_id)
    if project is None:
        return None
    return SharedAccess(
        config_id=config.id,
        project=project_ref(project),
        dashboard_id=config.dashboard_id,
        access_token=config.access_token,
        password_required=config.password_required,
        settings=dict(config.settings or {}),
    )


def unlocked(session: Session, access: SharedAccess, share_token: str | None) -> bool:
    """Whether a password token opens this share: still protected, password active, same token."""
    if not access.password_required:
        return True
    if not share_token:
        return False
    claims = passwords.unverified_claims(share_token)
    if not claims or claims.get("access_token") != access.access_token:
        return False
    row = session.get(SharePassword, claims.get("share_password_id"))
    if row is None or not row.is_active or row.sharing_configuration_id != access.config_id:
        return False
    return passwords.verify_token(share_token, row.password_hash) is not None


def log_in(session: Session, access: SharedAccess, password: Any, client_ip: str | None) -> str | None:
    """A password token when `password` matches an active password, else None; both are logged."""
    rows = session.scalars(
        select(SharePassword).where(
            SharePassword.sharing_configuration_id == access.config_id, SharePassword.is_active.is_(True)
        )
    ).all()
    match = next(
        (
            r
            for r in rows
            if isinstance(password, str) and passwords.check_password(password, r.password_hash)
        ),
        None,
    )
    log_activity(
        session,
        project=access.project,
        user_id=None,
        scope="Dashboard",
        item_id=str(access.dashboard_id),
        activity="share_login_success" if match else "share_login_failed",
        name=f"client {client_ip or 'unknown'}, token ...{access.access_token[-6:]}",
        changes=None,
    )
    if match is None:
        return None
    return passwords.mint_token(
        password_id=match.id,
        password_hash=match.password_hash,
        project_id=access.project.id,
        access_token=access.access_token,
    )


def exported_data(
    session: Session, store: AnalyticsStore | None, access: SharedAccess, *, embedded: bool
) -> dict[str, Any]:
    """What a shared page shows: the dashboard in shared mode, its live tiles with results."""
    dashboard = session.get(Dashboard, access.dashboard_id)
    if dashboard is None or dashboard.deleted:
        raise NotFound("No resource found")
    dashboard.last_accessed_at = utcnow()
    viewing = Viewing(store=store, mode="blocking", sharing=True)
    body = present_detail(session, access.project, dashboard, viewing).model_dump(mode="json")
    if access.settings.get("hideExtraDetails"):
        # Who made an insight and when stays private when the share asks for it.
        for tile in body["tiles"]:
            for key in HIDDEN_DETAILS:
                (tile.get("insight") or {}).pop(key, None)
    data: dict[str, Any] = {
        "type": "embed" if embedded else "scene",
        "accessToken": access.access_token,
        "dashboard": body,
        "themes": [],
    }
    for key in SETTINGS_KEYS:
        if access.settings.get(key):
            data[key] = True
    return data


def insights_for_token(session: Session, token: str) -> tuple[SharedAccess, set[int]] | None:
    """What `?sharing_access_token=` may read: the insights on the shared dashboard's live tiles.

    Password-protected shares never authenticate with the bare token.
    """
    access = resolve_token(session, token)
    if access is None or access.password_required:
        return None
    dashboard = session.get(Dashboard, access.dashboard_id)
    if dashboard is None or dashboard.deleted:
        return access, set()
    rows = session.scalars(
        select(DashboardTile.insight_id)
        .join(Insight, Insight.id == DashboardTile.insight_id)
        .where(
            DashboardTile.dashboard_id == dashboard.id,
            DashboardTile.deleted.is_not(True),
            Insight.deleted.is_(False),
        )
    )
    return access, {i for i in rows if i is not None}
