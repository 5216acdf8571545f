"""Date ranges of trends queries resolved as insights-trends.md §5 describes (pure, no stores)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hedgerow.domain.insights.dates import DateWindow, previous_window, resolve

NOW = datetime(2021, 8, 25, 0, 0, tzinfo=UTC)


def window(
    date_range: dict[str, object], interval: str, *, now: datetime = NOW, week_start: int = 0
) -> DateWindow:
    return resolve(date_range, interval, now=now, timezone="UTC", week_start=week_start)


def text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


@pytest.mark.parametrize(
    ("date_from", "interval", "start", "end"),
    [
        ("-7d", "day", "2021-08-18 00:00:00.000000", "2021-08-25 23:59:59.999999"),
        ("-7d", "week", "2021-08-18 00:00:00.000000", "2021-08-25 23:59:59.999999"),
        ("-48h", "day", "2021-08-23 00:00:00.000000", "2021-08-25 23:59:59.999999"),
        ("-48h", "hour", "2021-08-23 00:00:00.000000", "2021-08-25 00:59:59.999999"),
    ],
)
def test_worked_resolutions(date_from: str, interval: str, start: str, end: str) -> None:
    resolved = window({"date_from": date_from}, interval)
    assert (text(resolved.date_from), text(resolved.date_to)) == (start, end)


@pytest.mark.parametrize(
    ("date_from", "interval", "week_start", "buckets"),
    [
        ("-7d", "day", 0, [f"2021-08-{d}" for d in range(18, 26)]),
        ("-20h", "day", 0, ["2021-08-24", "2021-08-25"]),
        ("-20d", "week", 0, ["2021-08-01", "2021-08-08", "2021-08-15", "2021-08-22"]),
        ("-20d", "week", 1, ["2021-08-02", "2021-08-09", "2021-08-16", "2021-08-23"]),
        ("-50d", "month", 0, ["2021-07-01", "2021-08-01"]),
    ],
)
def test_buckets(date_from: str, interval: str, week_start: int, buckets: list[str]) -> None:
    resolved = window({"date_from": date_from}, interval, week_start=week_start)
    assert [b.strftime("%Y-%m-%d") for b in resolved.buckets] == buckets


def test_hour_buckets_and_default_range() -> None:
    hours = window({"date_from": "-3h"}, "hour").buckets
    assert [b.strftime("%d %H:%M") for b in hours] == ["24 21:00", "24 22:00", "24 23:00", "25 00:00"]
    default = window({}, "day")
    assert text(default.date_from) == "2021-08-18 00:00:00.000000" and len(default.buckets) == 8


def test_snapped_relative_dates() -> None:
    yesterday = window({"date_from": "-1dStart", "date_to": "-1dEnd"}, "hour")
    assert (text(yesterday.date_from), text(yesterday.date_to)) == (
        "2021-08-24 00:00:00.000000",
        "2021-08-24 23:59:59.999999",
    )
    last_month = window({"date_from": "-1mStart", "date_to": "-1mEnd"}, "day")
    assert (text(last_month.date_from), text(last_month.date_to)) == (
        "2021-07-01 00:00:00.000000",
        "2021-07-31 23:59:59.999999",
    )
    assert text(window({"date_from": "mStart"}, "day").date_from) == "2021-08-01 00:00:00.000000"
    assert text(window({"date_from": "yStart"}, "day").date_from) == "2021-01-01 00:00:00.000000"
    wednesday = datetime(2025, 10, 8, 12, tzinfo=UTC)
    last_week = window({"date_from": "-1wStart", "date_to": "-1wEnd"}, "day", now=wednesday, week_start=1)
    assert (last_week.date_from.date().isoformat(), last_week.date_to.date().isoformat()) == (
        "2025-09-29",
        "2025-10-05",
    )


def test_explicit_and_absolute_bounds() -> None:
    explicit = window(
        {"date_from": "2021-02-25T12:25:23Z", "date_to": "2021-04-25T10:59:23Z", "explicitDate": True}, "day"
    )
    assert (text(explicit.date_from), text(explicit.date_to)) == (
        "2021-02-25 12:25:23.000000",
        "2021-04-25 10:59:23.000000",
    )
    absolute = window({"date_from": "2021-08-25", "date_to": "2021-08-26 07:00:00"}, "hour")
    assert text(absolute.date_to) == "2021-08-26 07:00:00.000000"
    unpadded = window({"date_from": "2021-8-1", "date_to": "2021-8-3"}, "day")
    assert [b.day for b in unpadded.buckets] == [1, 2, 3]


def test_time_zones_shift_days() -> None:
    tokyo = resolve({"date_from": "-1d"}, "day", now=NOW, timezone="Asia/Tokyo")
    # 00:00 UTC is 09:00 in Tokyo: "today" there is the 25th, yesterday the 24th.
    assert [b.strftime("%Y-%m-%d") for b in tokyo.buckets] == ["2021-08-24", "2021-08-25"]
    assert tokyo.date_from.utcoffset() is not None and tokyo.date_from.hour == 0


def test_previous_period_lines_up_weekdays() -> None:
    current = resolve({"date_from": "-7d"}, "day", now=datetime(2012, 1, 15, 5, tzinfo=UTC), timezone="UTC")
    previous = previous_window(current, {"date_from": "-7d"})
    assert [b.strftime("%m-%d") for b in previous.buckets] == [f"01-{d:02d}" for d in range(1, 9)]
    monthly = resolve({"date_from": "-50d"}, "month", now=NOW, timezone="UTC")
    assert [b.strftime("%Y-%m") for b in previous_window(monthly, {"date_from": "-50d"}).buckets] == [
        "2021-05",
        "2021-06",
    ]
