"""Periodic recalculation (cohorts.md §6.4) and the safety net that keeps cohorts from hanging.

Each run: give up jobs whose lease expired on their last attempt (releasing their cohorts);
re-queue cohorts marked calculating that have no live job (the job was lost or given up);
then queue due dynamic cohorts — last calculated more than `cohort_recalculate_minutes` ago
(never-calculated first, oldest next), not failing more than `cohort_max_errors` times in a row,
and past their back-off of `cohort_error_backoff_minutes` times 2^errors — keeping at most
`scheduler_batch_size` cohort calculations queued or running.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hedgerow.db.session import transaction
from hedgerow.db.types import utcnow
from hedgerow.domain.cohorts.models import Cohort
from hedgerow.domain.jobs.models import Job
from hedgerow.domain.jobs.service import enqueue_job
from hedgerow.worker.jobs import JobContext, JobHandler
from hedgerow.worker.jobs.calculate_cohort import CALCULATE_COHORT
from hedgerow.worker.queue import JobQueue, QueuePolicy

log = logging.getLogger("hedgerow.worker")
LIVE = ("queued", "running")
CANDIDATE_SCAN = 500


def _dedupe_key(cohort_id: int) -> str:
    return f"cohort:{cohort_id}"


def _enqueue(session: Session, cohort: Cohort, *, bump: bool) -> None:
    if bump or cohort.pending_version is None:
        cohort.pending_version = (cohort.pending_version or 0) + 1
    cohort.is_calculating = True
    enqueue_job(
        session,
        kind=CALCULATE_COHORT,
        payload={"cohort_id": cohort.id, "pending_version": cohort.pending_version},
        project_id=cohort.project_id,
        dedupe_key=_dedupe_key(cohort.id),
    )


def _live_cohort_jobs(session: Session) -> set[str]:
    keys = session.scalars(
        select(Job.dedupe_key).where(Job.kind == CALCULATE_COHORT, Job.status.in_(LIVE))
    ).all()
    return {k for k in keys if k}


def requeue_orphans(session: Session) -> list[int]:
    """Cohorts shown as calculating with no job that will finish them get one (same version);
    deleted ones are simply released."""
    live = _live_cohort_jobs(session)
    orphans = session.scalars(
        select(Cohort).where(Cohort.is_calculating.is_(True), Cohort.is_static.is_(False)).with_for_update()
    ).all()
    requeued = []
    for cohort in orphans:
        if _dedupe_key(cohort.id) in live:
            continue
        if cohort.deleted:
            cohort.is_calculating = False
            continue
        _enqueue(session, cohort, bump=False)
        requeued.append(cohort.id)
    return requeued


def _backed_off(cohort: Cohort, now: datetime, backoff_minutes: float) -> bool:
    if cohort.last_error_at is None:
        return True
    wait = timedelta(minutes=backoff_minutes * (2 ** (cohort.errors_calculating or 0)))
    return cohort.last_error_at + wait <= now


def enqueue_due_recalculations(
    session: Session,
    *,
    now: datetime,
    stale_minutes: float,
    backoff_minutes: float,
    max_errors: int,
    limit: int,
) -> list[int]:
    running = session.scalar(
        select(func.count()).select_from(Job).where(Job.kind == CALCULATE_COHORT, Job.status.in_(LIVE))
    )
    room = limit - int(running or 0)
    if room <= 0:
        return []
    stale_before = now - timedelta(minutes=stale_minutes)
    candidates = session.scalars(
        select(Cohort)
        .where(
            Cohort.is_static.is_(False),
            Cohort.deleted.is_(False),
            Cohort.is_calculating.is_(False),
            Cohort.errors_calculating <= max_errors,
            (Cohort.last_calculation.is_(None)) | (Cohort.last_calculation < stale_before),
        )
        .order_by(Cohort.last_calculation.is_not(None), Cohort.last_calculation, Cohort.id)
        .limit(CANDIDATE_SCAN)
        .with_for_update(skip_locked=True)
    ).all()
    chosen = [c for c in candidates if _backed_off(c, now, backoff_minutes)][:room]
    for cohort in chosen:
        _enqueue(session, cohort, bump=True)
    return [c.id for c in chosen]


class Scheduler:
    def __init__(self, ctx: JobContext, handlers: Mapping[str, JobHandler]):
        self.ctx = ctx
        self.handlers = handlers
        s = ctx.settings
        self.queue = JobQueue(
            ctx.factory, QueuePolicy(s.job_lease_seconds, s.job_retry_base_seconds, s.job_max_attempts)
        )

    def run_once(self, now: datetime | None = None) -> list[int]:
        at = now or utcnow()
        for job in self.queue.exhausted(at):
            if self.queue.give_up_abandoned(job) and job.kind in self.handlers:
                self.handlers[job.kind].give_up(self.ctx, job, "the worker running it stopped responding")
        s = self.ctx.settings
        with transaction(self.ctx.factory) as session:
            requeue_orphans(session)
            return enqueue_due_recalculations(
                session,
                now=at,
                stale_minutes=s.cohort_recalculate_minutes,
                backoff_minutes=s.cohort_error_backoff_minutes,
                max_errors=s.cohort_max_errors,
                limit=s.scheduler_batch_size,
            )

    def loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                queued = self.run_once()
                if queued:
                    log.info("cohorts queued for recalculation", extra={"cohort_ids": queued})
            except Exception:
                log.exception("scheduler run failed")
            stop.wait(self.ctx.settings.scheduler_interval_seconds)
