"""A TrendsQuery's date range resolved in the project's time zone, and its buckets.

`-7d` is eight calendar days (today included); day/week/month ranges end at 23:59:59.999999;
bucket starts are aligned to the interval, weeks starting on Sunday (week_start 0) or Monday (1).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hedgerow.errors import InvalidInput

_RELATIVE = re.compile(r"^-?(?P<n>\d+)?(?P<unit>[hdwmqyMs])(?P<snap>Start|End)?$")
END_OF_DAY = time(23, 59, 59, 999999)
EN_DASH = "\u2013"
# PostHog's fallback for `all` when it cannot look at the data; it loses no events.
ALL_TIME_START = datetime(2015, 1, 1)


@dataclass(frozen=True)
class DateWindow:
    date_from: datetime  # aware, project zone: what the query shows
    date_to: datetime
    lower: datetime  # aware, project zone: where events start counting
    buckets: list[datetime]  # naive wall-clock bucket starts
    interval: str


def _shift(moment: datetime, n: int, unit: str) -> datetime:
    if unit == "h":
        return moment - timedelta(hours=n)
    if unit == "M":
        return moment - timedelta(minutes=n)
    if unit == "s":
        return moment - timedelta(seconds=n)
    if unit == "d":
        return moment - timedelta(days=n)
    if unit == "w":
        return moment - timedelta(weeks=n)
    if unit == "q":
        return moment - timedelta(weeks=13 * n)
    months = n * (12 if unit == "y" else 1)
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _week_start(day: date, week_start: int) -> date:
    offset = (day.weekday() + 1) % 7 if week_start == 0 else day.weekday()
    return day - timedelta(days=offset)


def _snap(moment: datetime, unit: str, snap: str, week_start: int) -> datetime:
    day = moment.date()
    if unit == "h":
        start = moment.replace(minute=0, second=0, microsecond=0)
        return start if snap == "Start" else start + timedelta(hours=1, microseconds=-1)
    if unit == "w":
        first = _week_start(day, week_start)
        day = first if snap == "Start" else first + timedelta(days=6)
    elif unit == "m":
        day = day.replace(day=1 if snap == "Start" else calendar.monthrange(day.year, day.month)[1])
    elif unit in ("y", "q"):
        day = day.replace(month=1, day=1) if snap == "Start" else day.replace(month=12, day=31)
    return datetime.combine(day, time() if snap == "Start" else END_OF_DAY, moment.tzinfo)


def _parse(raw: str, now: datetime, week_start: int, attr: str) -> tuple[datetime, bool, bool]:
    """(moment, relative?, hour-granular?)"""
    match = _RELATIVE.match(raw)
    if match:
        n = int(match["n"] or (0 if match["snap"] else 1))
        unit = match["unit"]
        moment = _shift(now, n, unit)
        if match["snap"]:
            moment = _snap(moment, unit, match["snap"], week_start)
        return moment, True, unit in ("h", "M", "s")
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.combine(date(*(int(p) for p in raw.split("-"))), time())
        except (TypeError, ValueError):
            raise InvalidInput(f"Unable to parse date: {raw}", attr=attr) from None
    tz = now.tzinfo
    parsed = parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed.astimezone(tz)
    return parsed, False, False


def parse_moment(raw: str, *, now: datetime, timezone: str, attr: str) -> datetime:
    """An absolute or relative (`-7d`) date read in the project's zone, not truncated: list filters."""
    return _parse(raw, now.astimezone(ZoneInfo(timezone)), 0, attr)[0]


def _align(moment: datetime, interval: str, week_start: int) -> datetime:
    if interval == "minute":
        return moment.replace(second=0, microsecond=0)
    if interval == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "week":
        return datetime.combine(_week_start(start.date(), week_start), time(), moment.tzinfo)
    if interval == "month":
        return start.replace(day=1)
    return start


def _next(moment: datetime, interval: str) -> datetime:
    if interval == "minute":
        return moment + timedelta(minutes=1)
    if interval == "hour":
        return moment + timedelta(hours=1)
    if interval == "day":
        return moment + timedelta(days=1)
    if interval == "week":
        return moment + timedelta(days=7)
    year, month = divmod(moment.year * 12 + moment.month, 12)
    return moment.replace(year=year, month=month + 1)


def resolve(
    date_range: dict[str, Any] | None,
    interval: str,
    *,
    now: datetime,
    timezone: str,
    week_start: int = 0,
    earliest: datetime | None = None,
) -> DateWindow:
    """`earliest` is the project's first event, which `date_from: "all"` starts from."""
    tz = ZoneInfo(timezone)
    local_now = now.astimezone(tz)
    date_range = date_range or {}
    explicit = bool(date_range.get("explicitDate"))
    raw_from, raw_to = date_range.get("date_from"), date_range.get("date_to")

    hourly_from = False
    if raw_from in (None, ""):
        date_from = (local_now - timedelta(days=7)).replace(hour=0, minute=0, second=0, microsecond=0)
    elif raw_from == "all":
        start = earliest.astimezone(tz) if earliest is not None else ALL_TIME_START.replace(tzinfo=tz)
        date_from = start.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        date_from, _, hourly_from = _parse(str(raw_from), local_now, week_start, "date_from")
        if not explicit and interval != "minute":
            date_from = (
                date_from.replace(minute=0, second=0, microsecond=0)
                if hourly_from
                else date_from.replace(hour=0, minute=0, second=0, microsecond=0)
            )

    relative_to = True
    if raw_to in (None, ""):
        date_to = local_now
    else:
        date_to, relative_to, _ = _parse(str(raw_to), local_now, week_start, "date_to")
    if not explicit:
        if interval in ("day", "week", "month"):
            date_to = datetime.combine(date_to.date(), END_OF_DAY, tz)
        elif interval == "hour" and relative_to:
            date_to = date_to.replace(minute=59, second=59, microsecond=999999)
        elif interval == "minute" and relative_to:
            date_to = date_to.replace(second=59, microsecond=999999)

    exact_lower = explicit or interval in ("hour", "minute") or hourly_from
    lower = date_from if exact_lower else _align(date_from, interval, week_start)
    buckets = _buckets(date_from, date_to, interval, week_start)
    return DateWindow(date_from=date_from, date_to=date_to, lower=lower, buckets=buckets, interval=interval)


def _buckets(date_from: datetime, date_to: datetime, interval: str, week_start: int) -> list[datetime]:
    buckets: list[datetime] = []
    cursor = _align(date_from, interval, week_start).replace(tzinfo=None)
    end = date_to.replace(tzinfo=None)
    while cursor <= end and len(buckets) < 5000:
        buckets.append(cursor)
        cursor = _next(cursor, interval)
    return buckets


def shifted_window(window: DateWindow, compare_to: str, week_start: int = 0) -> DateWindow:
    """`compareFilter.compare_to` (`-1w`, `-14d`, `-1m`, ...): the current range moved back by that
    much, as long as the current one."""
    match = _RELATIVE.match(compare_to.strip())
    if not match or match["snap"]:
        raise InvalidInput(f"Unable to parse compare_to: {compare_to}", attr="compareFilter")
    date_from = _shift(window.date_from, int(match["n"] or 1), match["unit"])
    date_to = date_from + (window.date_to - window.date_from)
    aligned = window.lower == _align(window.date_from, window.interval, week_start)
    lower = _align(date_from, window.interval, week_start) if aligned else date_from
    buckets = _buckets(date_from, date_to, window.interval, week_start)
    return DateWindow(
        date_from=date_from, date_to=date_to, lower=lower, buckets=buckets, interval=window.interval
    )


def to_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat()
    return text + "Z"


def day_label(moment: datetime, interval: str) -> str:
    if interval in ("hour", "minute"):
        return f"{moment.day}-{moment.strftime('%b %H:%M')}"
    if interval == "month":
        return moment.strftime("%b %Y")
    return f"{moment.day}-{moment.strftime('%b-%Y')}"


def week_label(start: datetime, window: DateWindow) -> str:
    """The week's days clipped to the range: `8-14 Jan`, `29 Jan - 4 Feb` (dashes are en dashes)."""
    first = max(start.date(), window.date_from.date())
    last = min(start.date() + timedelta(days=6), window.date_to.date())
    if first == last:
        return f"{first.day}-{first.strftime('%b-%Y')}"
    if first.year != last.year:
        return f"{first.day}-{first.strftime('%b-%Y')} {EN_DASH} {last.day}-{last.strftime('%b-%Y')}"
    if first.month != last.month:
        return f"{first.day} {first.strftime('%b')} {EN_DASH} {last.day} {last.strftime('%b')}"
    return f"{first.day}{EN_DASH}{last.day} {last.strftime('%b')}"


def labels(window: DateWindow) -> list[str]:
    if window.interval == "week":
        return [week_label(b, window) for b in window.buckets]
    return [day_label(b, window.interval) for b in window.buckets]


def day_strings(window: DateWindow) -> list[str]:
    if window.interval in ("hour", "minute"):
        return [b.strftime("%Y-%m-%d %H:%M:%S") for b in window.buckets]
    return [b.strftime("%Y-%m-%d") for b in window.buckets]


def previous_window(window: DateWindow, date_range: dict[str, Any] | None) -> DateWindow:
    """The period before `window`, as long as it: what compare-to-previous shows.

    `-Nd` ranges with N a multiple of 7 shift by N days, so weekdays line up with the current ones.
    """
    raw_from = str((date_range or {}).get("date_from") or "-7d")
    weekly = re.fullmatch(r"-(\d+)d", raw_from)
    count = len(window.buckets)
    if window.interval == "month":

        def move(moment: datetime) -> datetime:
            return _shift(moment, count, "m")

    else:
        if (
            window.interval == "day"
            and weekly
            and int(weekly[1]) % 7 == 0
            and not (date_range or {}).get("date_to")
        ):
            delta = timedelta(days=int(weekly[1]))
        else:
            step = {
                "minute": timedelta(minutes=1),
                "hour": timedelta(hours=1),
                "day": timedelta(days=1),
                "week": timedelta(days=7),
            }
            delta = step.get(window.interval, timedelta(days=1)) * count

        def move(moment: datetime) -> datetime:
            return moment - delta

    return DateWindow(
        date_from=move(window.date_from),
        date_to=move(window.date_to),
        lower=move(window.lower),
        buckets=[move(b) for b in window.buckets],
        interval=window.interval,
    )
