"""Enqueue background jobs inside the caller's transaction; claiming and running live in `worker/`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hedgerow.db.types import utcnow
from hedgerow.domain.jobs.models import Job

# Set on a session that queued a job; a worker pool in this process wakes when it commits.
JOB_QUEUED = "hedgerow_job_queued"


def enqueue_job(
    session: Session,
    *,
    kind: str,
    payload: dict[str, Any],
    project_id: int | None = None,
    dedupe_key: str | None = None,
) -> int:
    """Queue a job; with `dedupe_key`, an identical job still waiting to run is reused."""
    session.info[JOB_QUEUED] = True
    if dedupe_key is not None:
        waiting = session.scalars(
            select(Job).where(Job.kind == kind, Job.dedupe_key == dedupe_key, Job.status == "queued")
        ).first()
        if waiting is not None:
            waiting.payload = payload
            waiting.updated_at = utcnow()
            return waiting.id
    job = Job(kind=kind, payload=payload, project_id=project_id, dedupe_key=dedupe_key, status="queued")
    session.add(job)
    session.flush()
    return job.id
