"""CSV uploads to static cohorts (cohorts.md §2.5) and the history rows imports leave (§4.8)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hedgerow.db.session import transaction
from hedgerow.db.types import utcnow
from hedgerow.domain.cohorts.csv_import import CsvPlan, run_import, start_import, upload_path
from hedgerow.domain.cohorts.models import Cohort, CohortCalculationHistory
from hedgerow.domain.cohorts.recovery import resume_imports
from tests.integration.test_cohorts_static import add_person, replica
from tests.support import HedgerowClient, assert_error


def upload(hedgerow: HedgerowClient, content: bytes, **fields: str) -> Any:
    data = {"name": "imported", "is_static": "true"} | fields
    return hedgerow.post(
        hedgerow.api("cohorts"), data=data, files={"csv": ("people.csv", content, "text/csv")}
    )


def members(hedgerow: HedgerowClient, cohort_id: int) -> set[str]:
    body = hedgerow.get(f"{hedgerow.api('cohorts')}{cohort_id}/persons/").json()
    return {p["id"] for p in body["results"]}


def test_person_id_column(hedgerow: HedgerowClient) -> None:
    people = [add_person(hedgerow) for _ in range(3)]
    content = ("person_id\n" + "\n".join([*people[:2], "not-a-uuid", ""]) + "\n").encode()
    response = upload(hedgerow, content)
    assert response.status_code == 201, response.text
    cohort = hedgerow.get(f"{hedgerow.api('cohorts')}{response.json()['id']}/").json()
    assert (cohort["count"], cohort["is_calculating"], cohort["errors_calculating"]) == (2, False, 0)
    assert cohort["last_calculation"] is not None
    assert members(hedgerow, cohort["id"]) == set(people[:2])
    assert replica(hedgerow, cohort["id"]) == set(people[:2])

    history = hedgerow.get(f"{hedgerow.api('cohorts')}{cohort['id']}/calculation_history/").json()
    assert history["count"] == 1 and history["next"] is None and history["previous"] is None
    row = history["results"][0]
    assert list(row) == [
        "id",
        "filters",
        "count",
        "started_at",
        "finished_at",
        "queries",
        "error",
        "duration_seconds",
        "is_completed",
        "is_successful",
        "total_query_ms",
        "total_memory_mb",
        "total_read_rows",
        "total_written_rows",
        "main_query",
    ]
    assert {k: row[k] for k in ("filters", "count", "error", "is_completed", "is_successful", "queries")} == {
        "filters": {},
        "count": 2,
        "error": None,
        "is_completed": True,
        "is_successful": True,
        "queries": None,
    }
    assert row["duration_seconds"] >= 0 and row["finished_at"].endswith("Z")


def test_single_column_without_header_is_distinct_ids(hedgerow: HedgerowClient) -> None:
    alice = add_person(hedgerow, distinct_ids=["alice", "a2"])
    bob = add_person(hedgerow, distinct_ids=["bob"])
    response = upload(hedgerow, b"User ID,\nalice\nbob,\nnobody\n")
    assert response.status_code == 201, response.text
    assert members(hedgerow, response.json()["id"]) == {alice, bob}


def test_email_header_and_multi_column_preference(hedgerow: HedgerowClient) -> None:
    ann = add_person(hedgerow, properties={"email": "ann@acme.com"}, distinct_ids=["ann-id"])
    ben = add_person(hedgerow, properties={"email": "ben@acme.com"}, distinct_ids=["ben-id"])
    by_email = upload(hedgerow, b"\n\nE-mail\nann@acme.com\n")
    assert members(hedgerow, by_email.json()["id"]) == {ann}
    # distinct_id beats email when both columns are present; short rows and blank cells are skipped.
    multi = upload(hedgerow, b"email,name,distinct_id\nann@acme.com,Ann,ben-id\nx\n,Nobody,\n")
    assert multi.status_code == 201, multi.text
    assert members(hedgerow, multi.json()["id"]) == {ben}
    # A BOM from a spreadsheet export does not hide the header.
    exported = upload(hedgerow, "\ufeffPerson .id,email\n".encode() + f"{ann},x\n".encode())
    assert members(hedgerow, exported.json()["id"]) == {ann}


def test_patch_upload_is_additive(hedgerow: HedgerowClient) -> None:
    first, second = add_person(hedgerow), add_person(hedgerow)
    created = upload(hedgerow, f"person_id\n{first}\n".encode()).json()
    patched = hedgerow.patch(
        f"{hedgerow.api('cohorts')}{created['id']}/",
        files={"csv": ("more.csv", f"person_id\n{second}\n".encode(), "text/csv")},
    )
    assert patched.status_code == 200, patched.text
    cohort = hedgerow.get(f"{hedgerow.api('cohorts')}{created['id']}/").json()
    assert cohort["count"] == 2 and members(hedgerow, created["id"]) == {first, second}
    history = hedgerow.get(f"{hedgerow.api('cohorts')}{created['id']}/calculation_history/?limit=1").json()
    assert history["count"] == 2 and history["next"] == "?limit=1&offset=1" and history["previous"] is None
    assert history["results"][0]["count"] == 1
    second_page = hedgerow.get(
        f"{hedgerow.api('cohorts')}{created['id']}/calculation_history/?limit=1&offset=1"
    )
    assert second_page.json()["previous"] == "?limit=1&offset=0" and second_page.json()["next"] is None


MULTI_COLUMN = (
    "Multi-column CSV must contain at least one column with a supported ID header: 'person_id', "
    "'Person .id' (PostHog export format), 'distinct_id', 'distinct-id', or 'email'. Found columns: "
)


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"", "CSV file is empty. Please upload a CSV file with at least one row of data."),
        (b"\n\n", "CSV file is empty. Please upload a CSV file with at least one row of data."),
        (b"name,plan\nAnn,pro\n", MULTI_COLUMN + "name, plan"),
        (
            b"person_id\n\n",
            "CSV file contains no valid person IDs, distinct IDs, or email addresses. "
            "Please ensure your file has data rows with person IDs, distinct IDs, or email addresses.",
        ),
        (
            b"person_id\nabc\n\xff\xfe\n",
            "CSV file encoding is not supported. Please save your file as UTF-8 and try again.",
        ),
        (
            b"person_id\n" + b"a" * 200_000,
            "CSV file format is invalid. Please check your file format and try again.",
        ),
    ],
)
def test_refused_uploads(hedgerow: HedgerowClient, content: bytes, detail: str) -> None:
    response = upload(hedgerow, content)
    assert_error(response, 400, type="validation_error", code="invalid_input", detail=detail, attr="csv")
    # Nothing half-created is left behind.
    assert hedgerow.get(hedgerow.api("cohorts")).json()["count"] == 0


def test_failed_import_is_recorded_in_calculation_history(hedgerow: HedgerowClient, tmp_path: Path) -> None:
    cohort = hedgerow.post(hedgerow.api("cohorts"), json={"name": "s", "is_static": True}).json()
    factory = hedgerow.app.state.sessionmaker
    with transaction(factory) as session:
        history_id = start_import(session, cohort=session.get_one(Cohort, cohort["id"]))
    with pytest.raises(FileNotFoundError):
        run_import(
            factory,
            cohort_id=cohort["id"],
            history_id=history_id,
            path=tmp_path / "vanished.csv",
            plan=CsvPlan("person_id", None, 1),
        )
    body = hedgerow.get(f"{hedgerow.api('cohorts')}{cohort['id']}/").json()
    assert (body["is_calculating"], body["errors_calculating"], body["count"]) == (False, 1, 0)
    assert body["last_error_message"] == (
        "An error occurred while calculating this cohort. "
        "Please review your matching criteria or contact support."
    )
    row = hedgerow.get(f"{hedgerow.api('cohorts')}{cohort['id']}/calculation_history/").json()["results"][0]
    assert (row["is_completed"], row["is_successful"], row["count"]) == (True, False, 0)
    assert row["error"].startswith("CSV import failed: FileNotFoundError")


def test_imports_left_running_by_a_crash_are_finished_at_start(
    hedgerow: HedgerowClient, tmp_path: Path
) -> None:
    people = [add_person(hedgerow) for _ in range(2)]
    factory = hedgerow.app.state.sessionmaker
    url = hedgerow.api("cohorts")
    saved = hedgerow.post(url, json={"name": "saved", "is_static": True}).json()
    lost = hedgerow.post(url, json={"name": "lost", "is_static": True}).json()
    recent = hedgerow.post(url, json={"name": "recent", "is_static": True}).json()
    with transaction(factory) as session:
        saved_row = start_import(session, cohort=session.get_one(Cohort, saved["id"]))
        lost_row = start_import(session, cohort=session.get_one(Cohort, lost["id"]))
        start_import(session, cohort=session.get_one(Cohort, recent["id"]))
        for history_id in (saved_row, lost_row):
            session.get_one(CohortCalculationHistory, history_id).started_at = utcnow() - timedelta(hours=2)
    upload_path(tmp_path, saved_row).write_text("person_id\n" + "\n".join(people) + "\n")

    assert resume_imports(factory, tmp_path) == 3

    body = hedgerow.get(f"{url}{saved['id']}/").json()
    assert (body["count"], body["is_calculating"], body["last_error_message"]) == (2, False, None)
    assert members(hedgerow, saved["id"]) == set(people)
    assert not upload_path(tmp_path, saved_row).exists()
    failed = hedgerow.get(f"{url}{lost['id']}/").json()
    assert (failed["is_calculating"], failed["errors_calculating"]) == (False, 1)
    row = hedgerow.get(f"{url}{lost['id']}/calculation_history/").json()["results"][0]
    assert row["error"] == (
        "CSV import failed: ImportInterrupted: "
        "the server stopped before the import finished; upload the file again"
    )
    # A recent import without its file here may be running in another server process: left alone.
    assert hedgerow.get(f"{url}{recent['id']}/").json()["is_calculating"] is True
