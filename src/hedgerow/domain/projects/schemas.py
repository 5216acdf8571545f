"""Plain values handed out by the projects service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel


class UserBasic(BaseModel):
    """PostHog's UserBasic: how a user appears inside other objects (`created_by`)."""

    id: int
    uuid: str
    distinct_id: str
    first_name: str
    last_name: str
    email: str
    is_email_verified: bool
    hedgehog_config: dict[str, Any] | None = None
    role_at_organization: str | None = None


@dataclass(frozen=True)
class Actor:
    """Who is calling: the user, and the limits of the key they presented."""

    user: UserBasic
    is_staff: bool
    key_id: str
    scopes: tuple[str, ...]
    scoped_teams: tuple[int, ...] = ()
    scoped_organizations: tuple[str, ...] = ()
    organization_ids: frozenset[str] = field(default_factory=frozenset)
    current_project_id: int | None = None


@dataclass(frozen=True)
class ProjectRef:
    id: int
    organization_id: str
    name: str
    api_token: str
    timezone: str
    week_start_day: int | None = None  # 0 or None: Sunday; 1: Monday


@dataclass(frozen=True)
class InitResult:
    organization_id: str
    project_id: int
    project_api_token: str
    personal_api_key: str
    user_email: str


@dataclass(frozen=True)
class IssuedKey:
    id: str
    key: str
    scopes: list[str]
    scoped_teams: list[int]
