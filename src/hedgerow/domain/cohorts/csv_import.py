"""CSV uploads for static cohorts: checked while the request is open, imported in chunks afterwards.

The file is never held in memory whole: it is read as a stream once to check it (encoding, shape,
at least one id), copied to the data directory, and imported later in chunks, each chunk one
transaction that adds the members, bumps `count` and queues the replica update together.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session, sessionmaker

from hedgerow.db.types import utcnow, uuid7
from hedgerow.domain.cohorts.bulk_members import IdType, add_members_by_ids
from hedgerow.domain.cohorts.models import Cohort, CohortCalculationHistory
from hedgerow.domain.cohorts.static import lock_cohort
from hedgerow.errors import InvalidInput

CHUNK_ROWS = 5000
READ_BLOCK = 1 << 16
PERSON_ID_HEADERS = frozenset({"person_id", "person-id", "person .id"})
DISTINCT_ID_HEADERS = frozenset({"distinct_id", "distinct-id"})
EMAIL_HEADERS = frozenset({"email", "e-mail"})

EMPTY = "CSV file is empty. Please upload a CSV file with at least one row of data."
NO_IDS = (
    "CSV file contains no valid person IDs, distinct IDs, or email addresses. "
    "Please ensure your file has data rows with person IDs, distinct IDs, or email addresses."
)
BAD_ENCODING = "CSV file encoding is not supported. Please save your file as UTF-8 and try again."
BAD_FORMAT = "CSV file format is invalid. Please check your file format and try again."


def _csv_error(detail: str) -> InvalidInput:
    return InvalidInput(detail, attr="csv")


@dataclass(frozen=True)
class CsvPlan:
    """Which column holds the ids, what kind of id they are, and where the data starts."""

    id_type: IdType
    column: int | None  # None: single-column file, take the row's only value
    skip_rows: int  # rows before the first data row (leading blank rows and a header)


def _rows(binary: IO[bytes]) -> Iterator[list[str]]:
    """Rows of a UTF-8 file, decoded as they are read (a BOM is dropped)."""
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    try:
        yield from csv.reader(text)
    finally:
        # The caller owns the binary stream: let go of it without closing it.
        text.detach()


def _header_plan(row: list[str], skip: int) -> CsvPlan:
    cells = [c.strip() for c in row]
    non_blank = [c for c in cells if c]
    if len(non_blank) <= 1:
        header = non_blank[0].lower() if non_blank else ""
        if header in PERSON_ID_HEADERS:
            return CsvPlan("person_id", None, skip + 1)
        if header in EMAIL_HEADERS:
            return CsvPlan("email", None, skip + 1)
        # PostHog reads a single column without a known header as distinct ids, header included.
        return CsvPlan("distinct_id", None, skip)
    lowered = [c.lower() for c in cells]
    for headers, id_type in (
        (PERSON_ID_HEADERS, "person_id"),
        (DISTINCT_ID_HEADERS, "distinct_id"),
        (EMAIL_HEADERS, "email"),
    ):
        for index, name in enumerate(lowered):
            if name in headers:
                return CsvPlan(id_type, index, skip + 1)  # type: ignore[arg-type]
    raise _csv_error(
        "Multi-column CSV must contain at least one column with a supported ID header: 'person_id', "
        "'Person .id' (PostHog export format), 'distinct_id', 'distinct-id', or 'email'. "
        f"Found columns: {', '.join(non_blank) or 'none'}"
    )


def _value(row: list[str], plan: CsvPlan) -> str | None:
    if plan.column is None:
        for cell in row:
            if value := cell.strip():
                return value
        return None
    if len(row) <= plan.column:
        return None
    return row[plan.column].strip() or None


def inspect_csv(binary: IO[bytes]) -> CsvPlan:
    """Check an upload the way PostHog does before accepting it; raises `InvalidInput` (attr csv)."""
    try:
        plan: CsvPlan | None = None
        found_id = False
        for index, row in enumerate(_rows(binary)):
            if plan is None:
                if any(cell.strip() for cell in row):
                    plan = _header_plan(row, index)
                    found_id = plan.skip_rows == index and _value(row, plan) is not None
                continue
            if not found_id and _value(row, plan) is not None:
                found_id = True
        # The whole file is read even after an id is found: a bad byte near the end must be refused
        # now, not discovered half-way through the import.
    except UnicodeDecodeError:
        raise _csv_error(BAD_ENCODING) from None
    except csv.Error:
        raise _csv_error(BAD_FORMAT) from None
    if plan is None:
        raise _csv_error(EMPTY)
    if not found_id:
        raise _csv_error(NO_IDS)
    return plan


def upload_path(folder: Path, history_id: str) -> Path:
    """Where an accepted upload waits: named after its history row, so an import a crash
    interrupted can be found and finished at the next start."""
    return folder / f"{history_id}.csv"


def save_upload(binary: IO[bytes], target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    binary.seek(0)
    with target.open("wb") as out:
        shutil.copyfileobj(binary, out, READ_BLOCK)
    return target


def iter_id_chunks(path: Path, plan: CsvPlan, size: int = CHUNK_ROWS) -> Iterator[list[str]]:
    chunk: list[str] = []
    with path.open("rb") as binary:
        for index, row in enumerate(_rows(binary)):
            if index < plan.skip_rows:
                continue
            value = _value(row, plan)
            if value is None:
                continue
            chunk.append(value)
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def start_import(session: Session, *, cohort: Cohort) -> str:
    """Mark the cohort as importing and open its calculation-history row; returns the row id."""
    cohort.is_calculating = True
    row = CohortCalculationHistory(
        id=str(uuid7()),
        project_id=cohort.project_id,
        cohort_id=cohort.id,
        filters={},
        started_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row.id


def run_import(
    factory: sessionmaker[Session], *, cohort_id: int, history_id: str, path: Path, plan: CsvPlan
) -> None:
    """Import a saved upload chunk by chunk. Additive and idempotent: re-running it after a crash
    skips members already added."""
    added = 0
    try:
        with factory() as session, session.begin():
            project_id = session.get_one(Cohort, cohort_id).project_id
        for values in iter_id_chunks(path, plan):
            with factory() as session, session.begin():
                lock_cohort(session, cohort_id)
                added += add_members_by_ids(
                    session, project_id=project_id, cohort_id=cohort_id, id_type=plan.id_type, values=values
                )
    except Exception as exc:
        finish_import(factory, cohort_id=cohort_id, history_id=history_id, added=added, error=exc)
        raise
    else:
        finish_import(factory, cohort_id=cohort_id, history_id=history_id, added=added, error=None)
    finally:
        path.unlink(missing_ok=True)


def finish_import(
    factory: sessionmaker[Session],
    *,
    cohort_id: int,
    history_id: str,
    added: int,
    error: Exception | None,
    error_code: str = "unknown",
) -> None:
    now = utcnow()
    with factory() as session, session.begin():
        lock_cohort(session, cohort_id)
        cohort = session.get_one(Cohort, cohort_id)
        history = session.get_one(CohortCalculationHistory, history_id)
        history.finished_at = now
        history.count = added
        cohort.is_calculating = False
        if error is None:
            cohort.last_calculation = now
            cohort.errors_calculating = 0
            cohort.last_error_at = None
        else:
            history.error = f"CSV import failed: {type(error).__name__}: {error}"
            history.error_code = error_code
            cohort.errors_calculating += 1
            cohort.last_error_at = now
