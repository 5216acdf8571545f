"""When an event happened, from its timestamp, the client's send time and the server's clock.

Follows PostHog's ingestion: a timestamp is corrected by the client's clock skew (`sent_at`),
an `offset` counts back from receipt, and results far in the future or unreadable become now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

FUTURE_TOLERANCE = timedelta(hours=23)
# `_`/`sent_at` query values before 2020 are seconds sent by mistake, not milliseconds.
MIN_SENT_AT_MS = 1_577_836_800_000


def parse_iso(value: Any) -> datetime | None:
    """An ISO 8601 string as an aware UTC datetime (naive means UTC); None when unreadable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)  # what SDKs send, `Z` included: read as it is
    except ValueError:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    if parsed.tzinfo is UTC:
        return parsed
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def sent_at_from_query(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        millis = int(float(raw))
    except ValueError:
        return None
    if millis < MIN_SENT_AT_MS:
        return None
    try:
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def event_time(
    *,
    timestamp: Any,
    offset: Any,
    sent_at: datetime | None,
    ignore_sent_at: bool,
    now: datetime,
) -> datetime:
    """An unreadable timestamp falls back to now (PostHog logs an ingestion warning) rather than
    refusing the whole batch, so one bad clock never loses the other events."""
    result = now
    parsed = parse_iso(timestamp)
    if parsed is not None:
        if sent_at is not None and not ignore_sent_at:
            try:
                result = now + (parsed - sent_at)
            except OverflowError:
                result = now
        else:
            result = parsed
    elif isinstance(offset, int | float) and not isinstance(offset, bool):
        # The docs ignore `offset` when a timestamp is present; we follow the docs.
        try:
            result = now - timedelta(milliseconds=offset)
        except OverflowError:
            result = now
    if result - now > FUTURE_TOLERANCE or not 1970 <= result.year <= 9999:
        return now
    return result
