"""The job queue's worker side: claim with a lease, heartbeat, complete, retry with back-off.

A claim is a plain read (most polls find nothing, and take no lock), then one guarded UPDATE
of the oldest claimable job: queued and due, or running with an
expired lease (its worker died). The candidate is chosen with FOR UPDATE SKIP LOCKED, so
concurrent workers on PostgreSQL skip each other's rows instead of waiting; SQLite has no row
locks (SQLAlchemy leaves the clause out) and serialises writers, so the guard in the UPDATE's
WHERE is what keeps two workers from taking the same job there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from hedgerow.db.session import transaction
from hedgerow.db.types import utcnow
from hedgerow.domain.jobs.models import Job

ERROR_TEXT_LIMIT = 4000


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    payload: dict[str, Any]
    project_id: int | None
    attempts: int
    owner: str


@dataclass(frozen=True)
class QueuePolicy:
    lease_seconds: float = 60.0
    retry_base_seconds: float = 1800.0
    max_attempts: int = 20

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=self.retry_base_seconds * (2 ** max(attempts - 1, 0)))


def _claimable(now: datetime, kinds: Sequence[str] | None, max_attempts: int) -> ColumnElement[bool]:
    due = and_(Job.status == "queued", Job.run_after <= now)
    # An abandoned job on its last allowed attempt is given up by the scheduler, not re-run.
    abandoned = and_(Job.status == "running", Job.lease_expires_at < now, Job.attempts < max_attempts)
    condition = or_(due, abandoned)
    return and_(condition, Job.kind.in_(kinds)) if kinds else condition


class JobQueue:
    def __init__(self, factory: sessionmaker[Session], policy: QueuePolicy):
        self.factory = factory
        self.policy = policy

    def claim(self, owner: str, *, kinds: Sequence[str] | None = None) -> ClaimedJob | None:
        now = utcnow()
        claimable = _claimable(now, kinds, self.policy.max_attempts)
        # Idle workers poll several times a second: a plain read first, so a poll that finds
        # nothing never takes the write lock (on SQLite, one for the whole database, which
        # ingestion's writers would otherwise wait behind).
        with self.factory() as session:
            if session.scalar(select(Job.id).where(claimable).limit(1)) is None:
                return None
        with transaction(self.factory) as session:
            candidate = (
                select(Job.id)
                .where(claimable)
                .order_by(Job.run_after, Job.id)
                .limit(1)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            row = session.execute(
                update(Job)
                .where(Job.id == candidate, claimable)
                .values(
                    status="running",
                    lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=self.policy.lease_seconds),
                    attempts=Job.attempts + 1,
                    updated_at=now,
                )
                .returning(Job.id, Job.kind, Job.payload, Job.project_id, Job.attempts)
                .execution_options(synchronize_session=False)
            ).first()
        if row is None:
            return None
        return ClaimedJob(
            id=row.id,
            kind=row.kind,
            payload=dict(row.payload or {}),
            project_id=row.project_id,
            attempts=row.attempts,
            owner=owner,
        )

    def _mine(self, job: ClaimedJob) -> ColumnElement[bool]:
        return and_(Job.id == job.id, Job.status == "running", Job.lease_owner == job.owner)

    def heartbeat(self, job: ClaimedJob) -> bool:
        """Extend the lease; False when the job is no longer ours (it expired and was re-claimed)."""
        now = utcnow()
        with transaction(self.factory) as session:
            result = session.execute(
                update(Job)
                .where(self._mine(job))
                .values(lease_expires_at=now + timedelta(seconds=self.policy.lease_seconds), updated_at=now)
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(result, "rowcount", 0))

    def complete(self, job: ClaimedJob) -> None:
        with transaction(self.factory) as session:
            session.execute(
                update(Job)
                .where(self._mine(job))
                .values(status="done", lease_owner=None, lease_expires_at=None, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    def fail(self, job: ClaimedJob, error: str) -> bool:
        """Record a failed attempt; True when a retry is scheduled, False when the job is given up."""
        now = utcnow()
        retry = job.attempts < self.policy.max_attempts
        values: dict[str, Any] = {
            "lease_owner": None,
            "lease_expires_at": None,
            "last_error": error[:ERROR_TEXT_LIMIT],
            "updated_at": now,
            "status": "queued" if retry else "failed",
        }
        if retry:
            values["run_after"] = now + self.policy.backoff(job.attempts)
        with transaction(self.factory) as session:
            session.execute(
                update(Job)
                .where(self._mine(job))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        return retry

    def exhausted(self, now: datetime | None = None) -> list[ClaimedJob]:
        """Running jobs whose lease expired on their last allowed attempt: nobody will retry them."""
        at = now or utcnow()
        with transaction(self.factory) as session:
            rows = session.execute(
                select(Job.id, Job.kind, Job.payload, Job.project_id, Job.attempts, Job.lease_owner).where(
                    Job.status == "running",
                    Job.lease_expires_at < at,
                    Job.attempts >= self.policy.max_attempts,
                )
            ).all()
        return [
            ClaimedJob(r.id, r.kind, dict(r.payload or {}), r.project_id, r.attempts, r.lease_owner or "")
            for r in rows
        ]

    def give_up_abandoned(self, job: ClaimedJob) -> bool:
        """Mark an exhausted abandoned job failed; True if this caller did it (so it runs the hook once)."""
        with transaction(self.factory) as session:
            result = session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == "running", Job.attempts >= self.policy.max_attempts)
                .values(status="failed", lease_owner=None, lease_expires_at=None, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(result, "rowcount", 0))
