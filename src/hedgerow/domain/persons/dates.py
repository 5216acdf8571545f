"""The date operators of person property filters (`is_date_before`, `is_date_after`,
`is_date_exact`), with PostHog's reading of both sides.

The person's value may be an ISO 8601 date or date-time, or a unix timestamp (seconds, as a
number or numeric text). The filter's value is absolute (an ISO date or date-time) or relative
to now (`-7d`, `-6h`, `-2w`, `-1m`, `-1y`). A date-only `is_date_after` compares with the end
of that day, and a date-only `is_date_exact` compares days.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hedgerow.domain.ingestion.timestamps import parse_iso
from hedgerow.query.plan import LoweringError
from hedgerow.query.timeparse import parse_point


def person_datetime(value: Any) -> datetime | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        seconds: float = value
    else:
        text = str(value).strip()
        parsed = parse_iso(text)
        if parsed is not None:
            return parsed
        try:
            seconds = float(text)
        except ValueError:
            return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _filter_datetime(value: Any, now: datetime) -> tuple[datetime, bool] | None:
    """The compare point, and whether the filter named a whole day."""
    try:
        return parse_point(str(value), now=now, timezone="UTC")
    except LoweringError:
        return None


def compare_dates(operator: str, have: Any, want: Any, *, now: datetime | None = None) -> bool:
    person = person_datetime(have)
    point = _filter_datetime(want, now or datetime.now(UTC))
    if person is None or point is None:
        return False
    moment, whole_day = point
    if operator == "is_date_before":
        return person < moment
    if operator == "is_date_after":
        return person > (moment + timedelta(days=1) - timedelta(seconds=1) if whole_day else moment)
    if whole_day:
        return person.date() == moment.date()
    return person == moment
