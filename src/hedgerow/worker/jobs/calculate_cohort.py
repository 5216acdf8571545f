"""`calculate_cohort` jobs: payload {"cohort_id", "pending_version"}."""

from __future__ import annotations

import logging

from hedgerow.domain.cohorts.calculation import calculate_cohort, release_abandoned
from hedgerow.worker.jobs import JobContext
from hedgerow.worker.queue import ClaimedJob

CALCULATE_COHORT = "calculate_cohort"
log = logging.getLogger("hedgerow.worker")


def _ids(job: ClaimedJob) -> tuple[int, int]:
    return int(job.payload["cohort_id"]), int(job.payload.get("pending_version") or 0)


class CalculateCohort:
    def run(self, ctx: JobContext, job: ClaimedJob) -> None:
        cohort_id, version = _ids(job)
        ctx.bring_store_up_to_date()  # a cohort defined right after its events must count them
        result = calculate_cohort(
            ctx.factory,
            ctx.store,
            cohort_id=cohort_id,
            pending_version=version,
            timeout_seconds=ctx.settings.cohort_calculation_timeout_seconds or None,
        )
        log.info(
            "cohort calculated",
            extra={
                "cohort_id": cohort_id,
                "version": version,
                "status": result.status,
                "count": result.count,
            },
        )

    def give_up(self, ctx: JobContext, job: ClaimedJob, error: str) -> None:
        cohort_id, version = _ids(job)
        release_abandoned(
            ctx.factory,
            cohort_id=cohort_id,
            pending_version=version,
            reason=f"Calculation abandoned after {job.attempts} attempts: {error}",
        )
