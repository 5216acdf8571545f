"""Event time: clock-skew correction with sent_at, offset, the future clamp, and fallbacks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.test_capture_encodings import stored_events
from tests.support import HedgerowClient


def _iso(value: datetime) -> str:
    return value.isoformat()


def _close(a: datetime, b: datetime, seconds: float = 5) -> bool:
    return abs((a - b).total_seconds()) < seconds


def test_timestamp_corrected_by_sent_at(hedgerow: HedgerowClient) -> None:
    # The client's clock runs 2 hours fast: timestamp and sent_at share the skew.
    skewed_now = datetime.now(UTC) + timedelta(hours=2)
    body = {
        "api_key": hedgerow.init.project_api_token,
        "sent_at": _iso(skewed_now),
        "batch": [{"event": "e", "distinct_id": "u", "timestamp": _iso(skewed_now - timedelta(minutes=10))}],
    }
    assert hedgerow.http.post("/batch/", json=body).status_code == 200
    [event] = stored_events(hedgerow)
    assert _close(event["timestamp"], datetime.now(UTC) - timedelta(minutes=10))


def test_ignore_sent_at_keeps_the_timestamp(hedgerow: HedgerowClient) -> None:
    stamp = datetime(2026, 3, 4, 5, 6, 7, 123000, tzinfo=UTC)
    body = {
        "api_key": hedgerow.init.project_api_token,
        "sent_at": _iso(datetime.now(UTC) + timedelta(hours=5)),
        "batch": [
            {
                "event": "e",
                "distinct_id": "u",
                "timestamp": "2026-03-04T05:06:07.123Z",
                "properties": {"$ignore_sent_at": True},
            }
        ],
    }
    assert hedgerow.http.post("/batch/", json=body).status_code == 200
    assert stored_events(hedgerow)[0]["timestamp"] == stamp


def test_timestamp_without_sent_at_is_used_as_given(hedgerow: HedgerowClient) -> None:
    token = hedgerow.init.project_api_token
    body = [
        {"event": "a", "distinct_id": "u", "token": token, "timestamp": "2026-01-02T03:04:05+02:00"},
        {"event": "b", "distinct_id": "u", "token": token, "timestamp": "2026-01-02T03:04:05"},
    ]
    assert hedgerow.http.post("/e/", json=body).status_code == 200
    got = {e["event"]: e["timestamp"] for e in stored_events(hedgerow)}
    assert got == {
        "a": datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC),
        "b": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    }


def test_sent_at_from_query_in_milliseconds(hedgerow: HedgerowClient) -> None:
    skewed = datetime.now(UTC) - timedelta(days=1)
    millis = int(skewed.timestamp() * 1000)
    body = [
        {
            "event": "e",
            "distinct_id": "u",
            "token": hedgerow.init.project_api_token,
            "timestamp": _iso(skewed),
        }
    ]
    assert hedgerow.http.post(f"/e/?_={millis}", json=body).status_code == 200
    assert _close(stored_events(hedgerow)[0]["timestamp"], datetime.now(UTC))


def test_sent_at_in_seconds_is_ignored(hedgerow: HedgerowClient) -> None:
    stamp = datetime(2025, 6, 1, tzinfo=UTC)
    seconds = int(datetime.now(UTC).timestamp())
    body = [
        {"event": "e", "distinct_id": "u", "token": hedgerow.init.project_api_token, "timestamp": _iso(stamp)}
    ]
    assert hedgerow.http.post(f"/e/?sent_at={seconds}", json=body).status_code == 200
    assert stored_events(hedgerow)[0]["timestamp"] == stamp


def test_offset_counts_back_from_receipt(hedgerow: HedgerowClient) -> None:
    body = [{"event": "e", "distinct_id": "u", "token": hedgerow.init.project_api_token, "offset": 60_000}]
    assert hedgerow.http.post("/e/", json=body).status_code == 200
    assert _close(stored_events(hedgerow)[0]["timestamp"], datetime.now(UTC) - timedelta(minutes=1))


def test_far_future_and_unreadable_timestamps_become_now(hedgerow: HedgerowClient) -> None:
    token = hedgerow.init.project_api_token
    future = _iso(datetime.now(UTC) + timedelta(days=3))
    body = [
        {"event": "future", "distinct_id": "u", "token": token, "timestamp": future},
        {"event": "garbage", "distinct_id": "u", "token": token, "timestamp": "yesterday-ish"},
        {"event": "none", "distinct_id": "u", "token": token},
    ]
    assert hedgerow.http.post("/e/", json=body).status_code == 200
    for event in stored_events(hedgerow):
        assert _close(event["timestamp"], datetime.now(UTC)), event
