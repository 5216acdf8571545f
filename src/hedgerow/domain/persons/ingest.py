"""What one event does to persons, in PostHog's order: find or create the person, merge on
`$identify`/`$create_alias`/`$merge_dangerously`, then `$set_once`, `$set`, `$unset`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hedgerow.domain.ingestion.events import PersonEvent
from hedgerow.domain.persons.batch import PersonBatch
from hedgerow.domain.persons.identity import is_illegal_merge_id, person_uuid
from hedgerow.domain.persons.live import LivePerson
from hedgerow.domain.persons.properties import (
    NOT_ORDINARY_EVENTS,
    NOT_ORDINARY_INPUTS,
    PERSON_EVENTS,
    PersonUpdate,
    all_noisy,
    apply_copied,
    apply_update,
    initial_properties,
    person_update_for,
)

MERGE_EVENTS = frozenset({"$identify", "$create_alias", "$merge_dangerously"})


def merge_partner(event: PersonEvent) -> str | None:
    """The *other* distinct id a merge event names (`$anon_distinct_id` or `alias`)."""
    if event.event == "$identify":
        value: Any = event.properties.get("$anon_distinct_id")
    elif event.event in ("$create_alias", "$merge_dangerously"):
        value = event.properties.get("alias")
    else:
        return None
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


HOUR_MICROS = 3_600_000_000


def seen(person: LivePerson, micros: int) -> None:
    """`last_seen_at` moves forward to the event's hour (PostHog rounds it down), never back."""
    hour = micros - micros % HOUR_MICROS
    if person.last_seen is None or hour > person.last_seen:
        person.last_seen = hour
        person.dirty = True


class PersonProcessor:
    """Applies events to persons within one batch; returns the person UUID each event belongs to."""

    def __init__(self, batch: PersonBatch):
        self.batch = batch
        self.project_id = batch.project_id
        self.warnings: list[str] = []

    def preload(self, events: Sequence[PersonEvent]) -> None:
        wanted = {e.distinct_id for e in events}
        wanted.update(p for e in events if (p := merge_partner(e)) is not None)
        self.batch.preload(wanted)

    def process(self, event: PersonEvent) -> str:
        properties = event.properties
        name = event.event
        if name not in NOT_ORDINARY_EVENTS and properties.keys().isdisjoint(NOT_ORDINARY_INPUTS):
            # Runs for nearly every event: an ordinary event whose person inputs are only copied
            # keys, of a known person, is worked out without building an update first.
            known = self.batch.person_for(event.distinct_id)
            if known is not None:
                if properties and apply_copied(known.properties, properties):
                    known.dirty = True
                seen(known, event.micros)
                return known.uuid
        if properties.get("$process_person_profile") is False:  # `process_person_profile`
            # Personless: nothing is created or changed; the id PostHog would give is used.
            known = self.batch.person_for(event.distinct_id)
            return known.uuid if known is not None else person_uuid(self.project_id, event.distinct_id)
        update = person_update_for(name, properties)
        other = merge_partner(event) if name in MERGE_EVENTS else None
        if other is not None:
            person = self._merge(event, other, update)
        elif (known := self.batch.person_for(event.distinct_id)) is None:
            person = self._create(event, update, identified=False)
        else:
            person = self._apply(known, update, event=name)
        if properties.get("$update_person_last_seen_at") is not False:
            seen(person, event.micros)
        return person.uuid

    def _create(self, event: PersonEvent, update: PersonUpdate, *, identified: bool) -> LivePerson:
        properties = initial_properties(update, [("$creator_event_uuid", event.uuid)])
        person = self.batch.create(
            person_uuid(self.project_id, event.distinct_id), properties, event.timestamp, identified
        )
        self.batch.attach(event.distinct_id, person)
        return person

    def _apply(
        self, person: LivePerson, update: PersonUpdate, *, identify: bool = False, event: str = "$set"
    ) -> LivePerson:
        changed = apply_update(person.properties, update)
        if changed and (event in PERSON_EVENTS or not all_noisy(changed)):
            person.dirty = True
        if identify and not person.is_identified:
            person.is_identified = True
            person.dirty = True
        return person

    def _upsert(self, event: PersonEvent, update: PersonUpdate) -> LivePerson:
        person = self.batch.person_for(event.distinct_id)
        if person is None:
            return self._create(event, update, identified=False)
        return self._apply(person, update, event=event.event)

    def _merge(self, event: PersonEvent, other_id: str, update: PersonUpdate) -> LivePerson:
        target_id = event.distinct_id
        if other_id == target_id:
            return self._upsert(event, update)
        if is_illegal_merge_id(target_id) or is_illegal_merge_id(other_id):
            self.warnings.append(f"refused to merge on illegal distinct id ({target_id!r}, {other_id!r})")
            return self._upsert(event, update)
        target = self.batch.person_for(target_id)
        other = self.batch.person_for(other_id)
        if target is None and other is None:
            person = self._create(event, update, identified=True)
            self.batch.attach(other_id, person)
            return person
        if target is None and other is not None:
            self.batch.attach(target_id, other)
            return self._apply(other, update, identify=True)
        assert target is not None
        if other is None:
            self.batch.attach(other_id, target)
            return self._apply(target, update, identify=True)
        if other is target:
            return self._apply(target, update, identify=True)
        if other.is_identified and event.event != "$merge_dangerously":
            self.warnings.append(f"cannot_merge_already_identified ({other_id!r} into {target_id!r})")
            # Not merged, but the event still identifies the target, as every merge case does.
            return self._apply(target, update, identify=True)
        self.batch.merge(other, target)
        return self._apply(target, update, identify=True)
