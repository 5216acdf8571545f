"""Relative and absolute dates as PostHog's filters write them, resolved against a given `now`."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hedgerow.query.plan import LoweringError

RELATIVE = re.compile(r"^-?(\d+)([hdwmyHDWMY])$")
UNIT_BY_LETTER = {"h": "hour", "d": "day", "w": "week", "m": "month", "y": "year"}
FIXED_SECONDS = {"minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def to_us(value: datetime) -> int:
    delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def shift_back(now: datetime, amount: int, interval: str) -> datetime:
    """`now` minus `amount` intervals; months and years are calendar months (day clamped)."""
    if interval in FIXED_SECONDS:
        return now - timedelta(seconds=amount * FIXED_SECONDS[interval])
    if interval not in ("month", "year"):
        raise LoweringError(f"Invalid time interval '{interval}'")
    months = amount * (12 if interval == "year" else 1)
    total = now.year * 12 + (now.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    last_day = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return now.replace(year=year, month=month, day=min(now.day, last_day))


def fixed_length_us(amount: int, interval: str) -> int:
    """A duration with fixed unit lengths (month = 30 days, year = 365 days): conversion windows."""
    seconds = {**FIXED_SECONDS, "month": 30 * 86400, "year": 365 * 86400}.get(interval)
    if seconds is None:
        raise LoweringError(f"Invalid time interval '{interval}'")
    return amount * seconds * 1_000_000


def parse_point(text: str, *, now: datetime, timezone: str) -> tuple[datetime, bool]:
    """A relative (`-7d`) or absolute date / date-time; returns it and whether it was date-only.

    Absolute values without an offset are read in the project's timezone, as PostHog reads them.
    """
    raw = text.strip()
    relative = RELATIVE.match(raw)
    if relative:
        amount, letter = int(relative.group(1)), relative.group(2).lower()
        return shift_back(now, amount, UNIT_BY_LETTER[letter]), False
    tz = zone(timezone)
    if ISO_DATE.match(raw):
        day = date.fromisoformat(raw)
        return datetime.combine(day, time(), tzinfo=tz), True
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise LoweringError(f"Invalid date value '{text}'") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed, False
