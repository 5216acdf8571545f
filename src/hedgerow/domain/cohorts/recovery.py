"""What a crash can leave half-done for static cohorts, finished at the next start.

- Members committed in the metadata store but not yet copied to the analytics store (outbox).
- CSV imports that were running: the saved upload is imported again (imports are additive, so
  rows added before the crash are skipped); without the file the import is recorded as failed,
  so no cohort stays "calculating" for good. (Populations from criteria are jobs: the queue runs
  them again after a crash, see `population.py`.)
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hedgerow.db.types import utcnow
from hedgerow.domain.cohorts.csv_import import finish_import, inspect_csv, run_import, upload_path
from hedgerow.domain.cohorts.models import Cohort, CohortCalculationHistory
from hedgerow.domain.cohorts.static import replicate_static_members
from hedgerow.errors import DomainError

log = logging.getLogger("hedgerow.cohorts")
IMPORTS_FOLDER = "cohort_imports"
ABANDONED_AFTER = timedelta(hours=1)


def imports_folder(data_dir: Path) -> Path:
    return data_dir / IMPORTS_FOLDER


class ImportInterrupted(Exception):
    """The server stopped during an import and the uploaded file is gone."""


def _unfinished_imports(factory: sessionmaker[Session]) -> list[tuple[int, str, datetime]]:
    with factory() as session, session.begin():
        rows = session.execute(
            select(
                CohortCalculationHistory.cohort_id,
                CohortCalculationHistory.id,
                CohortCalculationHistory.started_at,
                CohortCalculationHistory.filters,
            )
            .join(Cohort, Cohort.id == CohortCalculationHistory.cohort_id)
            .where(Cohort.is_static.is_(True), CohortCalculationHistory.finished_at.is_(None))
            .order_by(CohortCalculationHistory.started_at)
        )
        # A row with criteria is a population from criteria, not an import: its job finishes it.
        return [
            (cohort_id, history_id, started_at)
            for cohort_id, history_id, started_at, criteria in rows
            if not criteria
        ]


def resume_imports(factory: sessionmaker[Session], folder: Path) -> int:
    """Finish (or close as failed) imports an earlier process left running; returns how many."""
    unfinished = _unfinished_imports(factory)
    for cohort_id, history_id, started_at in unfinished:
        path = upload_path(folder, history_id)
        if not path.exists():
            # Another server process (with its own data directory) may still be running it.
            if utcnow() - started_at < ABANDONED_AFTER:
                continue
            finish_import(
                factory,
                cohort_id=cohort_id,
                history_id=history_id,
                added=0,
                error=ImportInterrupted(
                    "the server stopped before the import finished; upload the file again"
                ),
                error_code="interrupted",
            )
            continue
        try:
            with path.open("rb") as saved:
                plan = inspect_csv(saved)
            run_import(factory, cohort_id=cohort_id, history_id=history_id, path=path, plan=plan)
        except (DomainError, OSError) as exc:
            log.warning("resuming cohort import failed", extra={"cohort_id": cohort_id, "error": str(exc)})
    return len(unfinished)


def recover_static_cohorts(factory: sessionmaker[Session], store: Any, data_dir: Path) -> None:
    try:
        replicate_static_members(factory, store)
        if resume_imports(factory, imports_folder(data_dir)):
            replicate_static_members(factory, store)
    except Exception:
        log.exception("static cohort recovery failed; it runs again at the next start")


def start_recovery(factory: sessionmaker[Session], store: Any, data_dir: Path) -> threading.Thread:
    """Run the recovery in the background so a long import does not delay serving."""
    thread = threading.Thread(
        target=recover_static_cohorts, args=(factory, store, data_dir), name="cohort-recovery", daemon=True
    )
    thread.start()
    return thread
