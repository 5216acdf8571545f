"""Job handlers by kind: what a worker does with a claimed job, and what to do if it is given up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from hedgerow.domain.cohorts.static import replicate_static_members
from hedgerow.settings import Settings
from hedgerow.store.base import AnalyticsStore
from hedgerow.worker.queue import ClaimedJob


@dataclass(frozen=True)
class JobContext:
    factory: sessionmaker[Session]
    store: AnalyticsStore
    settings: Settings
    # Makes every capture already answered 200 visible in the analytics store before a job reads it.
    catch_up: Callable[[], object] | None = None

    def bring_store_up_to_date(self) -> None:
        """Before a job reads cohort members: every capture already answered is in the analytics
        store, and so is every static membership change (a person merge re-points them, outside
        the cohorts API), since nested static cohorts are read from their replica."""
        if self.catch_up is not None:
            self.catch_up()
        replicate_static_members(self.factory, self.store)


class JobHandler(Protocol):
    def run(self, ctx: JobContext, job: ClaimedJob) -> None:
        """Do the work; raising schedules a retry with back-off."""

    def give_up(self, ctx: JobContext, job: ClaimedJob, error: str) -> None:
        """The job will not be retried again: leave nothing waiting on it."""


def default_handlers() -> dict[str, JobHandler]:
    from hedgerow.worker.jobs.calculate_cohort import CALCULATE_COHORT, CalculateCohort
    from hedgerow.worker.jobs.delete_person_events import DELETE_PERSON_EVENTS, DeletePersonEvents
    from hedgerow.worker.jobs.populate_static_cohort import POPULATE_STATIC_COHORT, PopulateStaticCohort

    return {
        CALCULATE_COHORT: CalculateCohort(),
        POPULATE_STATIC_COHORT: PopulateStaticCohort(),
        DELETE_PERSON_EVENTS: DeletePersonEvents(),
    }
