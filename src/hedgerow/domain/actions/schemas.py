"""Action JSON, field for field as PostHog's API has it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from hedgerow.domain.common import UTCDateTimeOut
from hedgerow.domain.projects.schemas import UserBasic

StringMatching = Literal["contains", "regex", "exact"]


class ActionStep(BaseModel):
    """One way to match the action: an event name, optionally narrowed by URL and event properties.

    A step without `event` matches any event (as in PostHog). Element fields (selector, text, href,
    tag_name) are kept so clients round-trip them.
    """

    model_config = ConfigDict(extra="ignore")

    event: str | None = None
    properties: list[dict[str, Any]] | None = None
    selector: str | None = None
    tag_name: str | None = None
    text: str | None = None
    text_matching: StringMatching | None = None
    href: str | None = None
    href_matching: StringMatching | None = None
    url: str | None = None
    url_matching: StringMatching | None = "contains"


class ActionWrite(BaseModel):
    """Body of POST, PUT and PATCH; which fields were sent decides what changes."""

    model_config = ConfigDict(extra="ignore")

    name: Annotated[str, StringConstraints(max_length=400)] | None = None
    description: str | None = None
    tags: list[str] | None = None
    post_to_slack: bool | None = None
    slack_message_format: Annotated[str, StringConstraints(max_length=1200)] | None = None
    steps: list[ActionStep] | None = None
    deleted: bool | None = None
    pinned_at: datetime | None = None


class ActionOut(BaseModel):
    id: int
    name: str | None
    description: str
    tags: list[str]
    post_to_slack: bool
    slack_message_format: str
    steps: list[ActionStep]
    created_at: UTCDateTimeOut
    created_by: UserBasic | None
    deleted: bool
    is_calculating: bool = False
    last_calculated_at: UTCDateTimeOut | None
    team_id: int
    is_action: bool = True
    bytecode_error: str | None = None
    pinned_at: UTCDateTimeOut | None
    creation_context: str | None = None
