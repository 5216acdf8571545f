"""`delete_person_events` jobs: payload {"project_id", "person_ids", "received_before_us",
"outbox_through"} (domain/persons/event_deletion.py)."""

from __future__ import annotations

import logging

from hedgerow.domain.persons.event_deletion import DELETE_PERSON_EVENTS, EventDeletion, delete_person_events
from hedgerow.worker.jobs import JobContext
from hedgerow.worker.queue import ClaimedJob

__all__ = ["DELETE_PERSON_EVENTS", "DeletePersonEvents"]
log = logging.getLogger("hedgerow.worker")


class DeletePersonEvents:
    def run(self, ctx: JobContext, job: ClaimedJob) -> None:
        deletion = EventDeletion.from_payload(job.payload)
        ctx.bring_store_up_to_date()  # their last events may still be queued or in the outbox
        delete_person_events(ctx.factory, ctx.store, deletion)
        log.info(
            "person events deleted",
            extra={"project_id": deletion.project_id, "persons": len(deletion.person_ids)},
        )

    def give_up(self, ctx: JobContext, job: ClaimedJob, error: str) -> None:
        # The job stays in the queue as failed, with its payload: nothing else waits on it.
        log.error(
            "person events not deleted",
            extra={"job_id": job.id, "project_id": job.project_id, "error": error},
        )
