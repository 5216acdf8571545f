"""When a captured event happened, worked out in integer microseconds (`event_micros`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hedgerow.domain.ingestion.timestamps import event_micros
from hedgerow.store.base import to_micros

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOW_US = to_micros(NOW)


def _at(timestamp: object = None, offset: object = None, sent_at: datetime | None = None) -> datetime:
    micros = event_micros(
        timestamp=timestamp,
        offset=offset,
        sent_at=None if sent_at is None else to_micros(sent_at),
        ignore_sent_at=False,
        now=NOW_US,
    )
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)


def test_the_client_clock_skew_is_taken_out_exactly() -> None:
    sent = NOW - timedelta(hours=2, microseconds=7)
    happened = sent - timedelta(seconds=30, microseconds=3)
    assert _at(happened.isoformat(), sent_at=sent) == NOW - timedelta(seconds=30, microseconds=3)


def test_an_offset_counts_back_in_milliseconds_to_the_microsecond() -> None:
    assert _at(offset=1500) == NOW - timedelta(seconds=1.5)
    assert _at(offset=0.25) == NOW - timedelta(microseconds=250)


@pytest.mark.parametrize(
    ("timestamp", "offset", "sent_at"),
    [
        ("1969-12-31T23:59:59Z", None, None),  # before 1970
        ("9999-12-31T23:59:59Z", None, NOW - timedelta(days=3650)),  # skew moves it past 9999
        ((NOW + timedelta(hours=24)).isoformat(), None, None),  # more than 23 hours ahead
        (None, 1e300, None),  # an offset no date can hold
        (None, -(10**12), None),  # an offset into the far future
        (None, True, None),  # not a number
        ("yesterday", None, None),
    ],
)
def test_times_no_date_can_be_become_now(timestamp: object, offset: object, sent_at: datetime | None) -> None:
    assert _at(timestamp, offset, sent_at) == NOW


def test_a_time_within_23_hours_ahead_is_kept() -> None:
    ahead = NOW + timedelta(hours=22, minutes=59)
    assert _at(ahead.isoformat()) == ahead
