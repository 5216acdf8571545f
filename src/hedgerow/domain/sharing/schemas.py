"""Sharing configuration JSON as PostHog's sharing endpoints return it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from hedgerow.domain.common import UTCDateTimeOut


class SharePasswordOut(BaseModel):
    id: int
    created_at: UTCDateTimeOut
    note: str | None
    created_by_email: str
    is_active: bool


class SharingOut(BaseModel):
    created_at: UTCDateTimeOut | None
    enabled: bool
    access_token: str
    settings: dict[str, Any] | None
    password_required: bool
    share_passwords: list[SharePasswordOut]


class CreatedPasswordOut(BaseModel):
    id: int
    password: str
    note: str | None
    created_at: UTCDateTimeOut
    created_by_email: str


class SharingWrite(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # Sent or not is told by the fields set; the switches may be left out but are never null.
    enabled: bool = False
    settings: Any = None
    password_required: bool = False


class PasswordWrite(BaseModel):
    model_config = ConfigDict(extra="ignore")

    raw_password: str | None = None
    note: str | None = None
