"""Worker threads: claim a job, keep its lease alive while it runs, record how it ended.

The same loop runs inside `hedgerow serve` (embedded workers) and in `hedgerow worker`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Mapping

from sqlalchemy import event
from sqlalchemy.orm import Session

from hedgerow.domain.jobs.service import JOB_QUEUED
from hedgerow.worker.jobs import JobContext, JobHandler, default_handlers
from hedgerow.worker.queue import ClaimedJob, JobQueue, QueuePolicy
from hedgerow.worker.scheduler import Scheduler

log = logging.getLogger("hedgerow.worker")


def policy_from(ctx: JobContext) -> QueuePolicy:
    s = ctx.settings
    return QueuePolicy(
        lease_seconds=s.job_lease_seconds,
        retry_base_seconds=s.job_retry_base_seconds,
        max_attempts=s.job_max_attempts,
    )


class Worker:
    """One claimer; `run_one` is the unit the threads loop over (and tests call directly)."""

    def __init__(
        self, ctx: JobContext, *, name: str | None = None, handlers: Mapping[str, JobHandler] | None = None
    ):
        self.ctx = ctx
        self.handlers = dict(handlers or default_handlers())
        self.queue = JobQueue(ctx.factory, policy_from(ctx))
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def run_one(self) -> bool:
        job = self.queue.claim(self.name, kinds=list(self.handlers))
        if job is None:
            return False
        stop_beating = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job, stop_beating), daemon=True)
        beat.start()
        try:
            self.handlers[job.kind].run(self.ctx, job)
        except Exception as exc:
            error = "".join(traceback.format_exception_only(exc)).strip()
            log.warning("job failed", extra={"job_id": job.id, "kind": job.kind, "error": error})
            if not self.queue.fail(job, error):
                self.handlers[job.kind].give_up(self.ctx, job, error)
        else:
            self.queue.complete(job)
        finally:
            stop_beating.set()
            beat.join()
        return True

    def _heartbeat(self, job: ClaimedJob, stop: threading.Event) -> None:
        interval = max(self.ctx.settings.job_lease_seconds / 3, 0.05)
        while not stop.wait(interval):
            try:
                if not self.queue.heartbeat(job):
                    return
            except Exception:
                log.exception("heartbeat failed", extra={"job_id": job.id})

    def loop(self, stop: threading.Event, wake: threading.Event | None = None) -> None:
        signal = wake or stop
        while not stop.is_set():
            try:
                worked = self.run_one()
            except Exception:
                log.exception("worker loop error")
                worked = False
            if not worked and signal.wait(self.ctx.settings.worker_poll_seconds) and wake is not None:
                wake.clear()


class WorkerPool:
    """`threads` workers and one scheduler, as daemon threads; `stop()` lets running jobs finish."""

    def __init__(self, ctx: JobContext, *, threads: int, schedule: bool = True):
        self.ctx = ctx
        self.stop_event = threading.Event()
        # Set when this process commits a queued job, so an idle worker starts on it at once
        # instead of at its next poll (other processes' jobs are found by polling).
        self.wake = threading.Event()
        self.workers = [Worker(ctx) for _ in range(threads)]
        self.scheduler = Scheduler(ctx, self.workers[0].handlers if self.workers else default_handlers())
        self.schedule = schedule
        self._threads: list[threading.Thread] = []

    def _wake_after_commit(self, session: Session) -> None:
        if session.info.pop(JOB_QUEUED, False):
            self.wake.set()

    def start(self) -> None:
        event.listen(self.ctx.factory, "after_commit", self._wake_after_commit)
        for i, worker in enumerate(self.workers):
            thread = threading.Thread(
                target=worker.loop, args=(self.stop_event, self.wake), name=f"hedgerow-worker-{i}"
            )
            thread.daemon = True
            thread.start()
            self._threads.append(thread)
        if self.schedule:
            thread = threading.Thread(
                target=self.scheduler.loop, args=(self.stop_event,), name="hedgerow-scheduler"
            )
            thread.daemon = True
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        self.wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        if event.contains(self.ctx.factory, "after_commit", self._wake_after_commit):
            event.remove(self.ctx.factory, "after_commit", self._wake_after_commit)
