"""GET cohorts/:id/calculation_history/ (cohorts.md §4.8) and `last_error_message` (§1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hedgerow.db.session import transaction
from hedgerow.domain.cohorts.models import CohortCalculationHistory
from tests.support import HedgerowClient, assert_error

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
GENERIC = (
    "An error occurred while calculating this cohort. "
    "Please review your matching criteria or contact support."
)


def record(hedgerow: HedgerowClient, cohort_id: int, minute: int, **fields: Any) -> None:
    """A history row as the worker writes one."""
    with transaction(hedgerow.app.state.sessionmaker) as session:
        session.add(
            CohortCalculationHistory(
                id=f"00000000-0000-4000-8000-{minute:012d}",
                project_id=hedgerow.project_id,
                cohort_id=cohort_id,
                started_at=START + timedelta(minutes=minute),
                **fields,
            )
        )


def dynamic(hedgerow: HedgerowClient) -> dict[str, Any]:
    response = hedgerow.post(
        hedgerow.api("cohorts"),
        json={
            "name": "d",
            "filters": {
                "properties": {
                    "type": "OR",
                    "values": [{"key": "email", "type": "person", "value": "x", "operator": "icontains"}],
                }
            },
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_history_rows_newest_first_with_totals(hedgerow: HedgerowClient) -> None:
    cohort = dynamic(hedgerow)
    tree = {
        "type": "OR",
        "values": [{"key": "email", "type": "person", "value": "x", "operator": "icontains"}],
    }
    record(
        hedgerow,
        cohort["id"],
        1,
        filters=tree,
        count=12,
        finished_at=START + timedelta(minutes=1, seconds=2, milliseconds=500),
        queries=[
            {"query": "SELECT 1", "query_id": "q1", "query_ms": 40, "memory_mb": 3, "read_rows": 100},
            {"query": "SELECT 2", "query_ms": 2, "read_rows": 7, "written_rows": 12},
        ],
    )
    record(hedgerow, cohort["id"], 2, filters=tree)
    body = hedgerow.get(f"{hedgerow.api('cohorts')}{cohort['id']}/calculation_history/").json()
    assert body["count"] == 2 and (body["next"], body["previous"]) == (None, None)
    running, finished = body["results"]
    assert running == {
        "id": "00000000-0000-4000-8000-000000000002",
        "filters": tree,
        "count": None,
        "started_at": "2025-03-01T12:02:00Z",
        "finished_at": None,
        "queries": None,
        "error": None,
        "duration_seconds": None,
        "is_completed": False,
        "is_successful": False,
        "total_query_ms": None,
        "total_memory_mb": None,
        "total_read_rows": None,
        "total_written_rows": None,
        "main_query": None,
    }
    assert {k: v for k, v in finished.items() if k not in ("id", "queries", "filters")} == {
        "count": 12,
        "started_at": "2025-03-01T12:01:00Z",
        "finished_at": "2025-03-01T12:01:02.500000Z",
        "error": None,
        "duration_seconds": 2.5,
        "is_completed": True,
        "is_successful": True,
        "total_query_ms": 42,
        "total_memory_mb": 3,
        "total_read_rows": 107,
        "total_written_rows": 12,
        "main_query": "SELECT 1",
    }


def test_history_is_scoped_and_paginated(hedgerow: HedgerowClient) -> None:
    cohort = dynamic(hedgerow)
    for minute in range(5):
        record(hedgerow, cohort["id"], minute, filters={})
    url = f"{hedgerow.api('cohorts')}{cohort['id']}/calculation_history/"
    middle = hedgerow.get(url + "?limit=2&offset=2").json()
    assert middle["count"] == 5
    assert [r["started_at"] for r in middle["results"]] == ["2025-03-01T12:02:00Z", "2025-03-01T12:01:00Z"]
    assert (middle["next"], middle["previous"]) == ("?limit=2&offset=4", "?limit=2&offset=0")
    other = hedgerow.create_project("Other")
    assert_error(
        hedgerow.get(f"{hedgerow.api('cohorts', other.id)}{cohort['id']}/calculation_history/"),
        404,
        type="invalid_request",
        code="not_found",
        detail="Not found.",
    )
    assert hedgerow.get(url, key=hedgerow.issue_key(["cohort:read"])).status_code == 200
    assert hedgerow.get(url, key=hedgerow.issue_key(["person:read"])).status_code == 403


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("timeout", "Cohort calculation was terminated for taking too long."),
        ("memory_limit", "Cohort calculation was terminated for using too much memory."),
        ("no_properties", "This cohort has no matching criteria defined. Please add at least one."),
        ("validation_error", GENERIC),
        ("something_new", GENERIC),
        (None, None),
    ],
)
def test_last_error_message_comes_from_the_latest_failed_row(
    hedgerow: HedgerowClient, code: str | None, message: str | None
) -> None:
    cohort = dynamic(hedgerow)
    record(hedgerow, cohort["id"], 1, error="older failure", error_code="capacity", finished_at=START)
    record(hedgerow, cohort["id"], 2, error="boom", error_code=code, finished_at=START)
    # A later successful run does not clear it, as in PostHog.
    record(hedgerow, cohort["id"], 3, count=4, finished_at=START)
    body = hedgerow.get(f"{hedgerow.api('cohorts')}{cohort['id']}/").json()
    assert body["last_error_message"] == message
    listed = hedgerow.get(hedgerow.api("cohorts")).json()["results"][0]
    assert listed["last_error_message"] == message
