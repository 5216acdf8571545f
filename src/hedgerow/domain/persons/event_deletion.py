"""Deleting the events of deleted persons (`delete_events` on the persons API), as PostHog's
AsyncDeletion does: queued in the transaction that deletes the persons, so the request never
deletes a person and loses the deletion of its events, then run by a worker.

Only events received before the deletion go: a deleted distinct id that sends again gets the
same person UUID back (UUIDv5 of the distinct id), and its new events must survive a job that
runs, or is retried, later.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from hedgerow.db.types import utcnow
from hedgerow.domain.ingestion.outbox import entries_waiting_through, newest_entry_id
from hedgerow.domain.jobs.service import enqueue_job
from hedgerow.store.base import AnalyticsStore, from_micros, to_micros

DELETE_PERSON_EVENTS = "delete_person_events"
# How long a worker waits for other processes to finish copying outbox entries that may hold
# these persons' events, before it gives the attempt up to a retry.
OUTBOX_WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.05


class EventsStillArriving(Exception):
    """Events applied before the deletion are still on their way to the analytics store."""


@dataclass(frozen=True)
class EventDeletion:
    project_id: int
    person_ids: list[str]
    received_before_us: int  # microseconds since the epoch: when the persons were deleted
    outbox_through: int  # newest outbox entry when they were deleted: it holds their last events

    def payload(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "person_ids": self.person_ids,
            "received_before_us": self.received_before_us,
            "outbox_through": self.outbox_through,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> EventDeletion:
        return cls(
            project_id=int(payload["project_id"]),
            person_ids=[str(person_id) for person_id in payload["person_ids"]],
            received_before_us=int(payload["received_before_us"]),
            outbox_through=int(payload["outbox_through"]),
        )


def queue_event_deletion(session: Session, *, project_id: int, person_uuids: Sequence[str]) -> None:
    """Queue the deletion of these (just deleted) persons' events, in `session`'s transaction."""
    if not person_uuids:
        return
    deletion = EventDeletion(
        project_id=project_id,
        person_ids=list(dict.fromkeys(person_uuids)),
        received_before_us=to_micros(utcnow()),
        outbox_through=newest_entry_id(session),
    )
    enqueue_job(session, kind=DELETE_PERSON_EVENTS, payload=deletion.payload(), project_id=project_id)


def _wait_for_outbox(factory: sessionmaker[Session], through: int) -> None:
    deadline = time.monotonic() + OUTBOX_WAIT_SECONDS
    while entries_waiting_through(factory, through):
        if time.monotonic() >= deadline:
            raise EventsStillArriving(f"outbox entries up to {through} are not copied yet")
        time.sleep(_POLL_SECONDS)


def delete_person_events(
    factory: sessionmaker[Session], store: AnalyticsStore, deletion: EventDeletion
) -> None:
    """Delete the events, once every outbox entry that may hold some of them is copied (the
    caller has already copied what it could): a copy landing after the delete would bring
    events back. Repeating it is harmless."""
    _wait_for_outbox(factory, deletion.outbox_through)
    store.delete_person_events(
        deletion.project_id, deletion.person_ids, received_before=from_micros(deletion.received_before_us)
    )
