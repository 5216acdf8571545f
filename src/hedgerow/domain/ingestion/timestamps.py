"""When an event happened, from its timestamp, the client's send time and the server's clock.

Follows PostHog's ingestion: a timestamp is corrected by the client's clock skew (`sent_at`),
an `offset` counts back from receipt, and results far in the future or unreadable become now.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from hedgerow.store.base import to_micros

FUTURE_TOLERANCE = timedelta(hours=23)
_FUTURE_TOLERANCE_US = FUTURE_TOLERANCE // timedelta(microseconds=1)
# Event times outside the years 1970-9999 become now.
_FIRST_US = 0
_END_US = to_micros(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)) + 1
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


def event_micros(
    *,
    timestamp: Any,
    offset: Any,
    sent_at: int | None,
    ignore_sent_at: bool,
    now: int,
) -> int:
    """When the event happened, in microseconds since the epoch (`sent_at` and `now` are too:
    integers, since this runs for every captured event). An unreadable timestamp falls back to
    now (PostHog logs an ingestion warning) rather than refusing the whole batch, so one bad
    clock never loses the other events."""
    result = now
    parsed = parse_iso(timestamp)
    if parsed is not None:
        result = to_micros(parsed)
        if sent_at is not None and not ignore_sent_at:
            result = now + (result - sent_at)
    elif isinstance(offset, int | float) and not isinstance(offset, bool) and math.isfinite(offset):
        # The docs ignore `offset` when a timestamp is present; we follow the docs.
        result = now - round(offset * 1000)
    if result - now > _FUTURE_TOLERANCE_US or not _FIRST_US <= result < _END_US:
        return now
    return result
