"""`populate_static_cohort` jobs: payload {"cohort_id", "history_id"}."""

from __future__ import annotations

import logging

from hedgerow.domain.cohorts.population import (
    POPULATE_STATIC_COHORT,
    finish_population,
    populate_static_cohort,
)
from hedgerow.domain.cohorts.static import replicate_static_members
from hedgerow.worker.jobs import JobContext
from hedgerow.worker.queue import ClaimedJob

__all__ = ["POPULATE_STATIC_COHORT", "PopulateStaticCohort"]
log = logging.getLogger("hedgerow.worker")


def _ids(job: ClaimedJob) -> tuple[int, str]:
    return int(job.payload["cohort_id"]), str(job.payload["history_id"])


class PopulateStaticCohort:
    def run(self, ctx: JobContext, job: ClaimedJob) -> None:
        cohort_id, history_id = _ids(job)
        ctx.bring_store_up_to_date()  # persons and events captured just before must be counted
        result = populate_static_cohort(
            ctx.factory,
            ctx.store,
            cohort_id=cohort_id,
            history_id=history_id,
            timeout_seconds=ctx.settings.cohort_calculation_timeout_seconds or None,
        )
        replicate_static_members(ctx.factory, ctx.store)
        log.info(
            "static cohort populated",
            extra={"cohort_id": cohort_id, "status": result.status, "count": result.count},
        )

    def give_up(self, ctx: JobContext, job: ClaimedJob, error: str) -> None:
        cohort_id, history_id = _ids(job)
        finish_population(
            ctx.factory,
            cohort_id=cohort_id,
            history_id=history_id,
            error=f"Population abandoned after {job.attempts} attempts: {error}",
            error_code="interrupted",
        )
