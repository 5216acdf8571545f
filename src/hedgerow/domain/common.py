"""Small value types shared by every domain package."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import PlainSerializer


def iso_z(value: datetime) -> str:
    """ISO 8601 in UTC with a trailing Z; microseconds only when non-zero (as PostHog renders)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    text = value.replace(tzinfo=None).isoformat()
    return text + "Z"


UTCDateTimeOut = Annotated[datetime, PlainSerializer(iso_z, return_type=str)]
