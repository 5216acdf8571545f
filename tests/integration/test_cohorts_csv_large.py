"""A 1,000,000-row CSV upload is streamed and imported in chunks, not held in memory whole."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Table, insert

from hedgerow.db.session import transaction
from hedgerow.domain.cohorts.csv_import import inspect_csv, iter_id_chunks
from hedgerow.domain.persons.models import Person
from tests.support import HedgerowClient

ROWS = 1_000_000
PERSONS = 100_000


def person_uuid(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n:012x}"


@pytest.mark.slow
def test_million_row_csv_import(hedgerow: HedgerowClient, tmp_path: Path) -> None:
    persons = cast(Table, Person.__table__)
    with transaction(hedgerow.app.state.sessionmaker) as session:
        rows: list[dict[str, Any]] = [
            {
                "uuid": person_uuid(n),
                "project_id": hedgerow.project_id,
                "properties": {},
                "is_identified": False,
            }
            for n in range(PERSONS)
        ]
        session.connection().execute(insert(persons), rows)
    path = tmp_path / "people.csv"
    with path.open("w") as out:
        out.write("person_id\n")
        # Every tenth row is a known person; the other ids belong to nobody.
        out.writelines(person_uuid(i // 10 if i % 10 == 0 else PERSONS + i) + "\n" for i in range(ROWS))
    size = path.stat().st_size

    started = time.monotonic()
    with path.open("rb") as upload:
        response = hedgerow.post(
            hedgerow.api("cohorts"),
            data={"name": "big", "is_static": "true"},
            files={"csv": ("people.csv", upload, "text/csv")},
        )
    elapsed = time.monotonic() - started

    assert response.status_code == 201, response.text
    cohort = hedgerow.get(f"{hedgerow.api('cohorts')}{response.json()['id']}/").json()
    assert (cohort["count"], cohort["is_calculating"], cohort["errors_calculating"]) == (PERSONS, False, 0)
    history = hedgerow.get(f"{hedgerow.api('cohorts')}{cohort['id']}/calculation_history/").json()
    assert history["results"][0]["count"] == PERSONS and history["results"][0]["is_successful"] is True

    # The test client buffers the request body, so memory is measured on the server's own passes
    # over the file: checking it and reading it chunk by chunk stay far below its size.
    tracemalloc.start()
    with path.open("rb") as saved:
        plan = inspect_csv(saved)
    read = sum(len(chunk) for chunk in iter_id_chunks(path, plan))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert read == ROWS
    assert peak < size / 10, (peak, size)
    print(f"{ROWS} rows ({size / 1e6:.0f} MB) imported in {elapsed:.1f}s; parsing peak {peak / 1e6:.1f} MB")
