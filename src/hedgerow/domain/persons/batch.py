"""Persons touched by one ingestion batch: loaded in a few queries, changed in memory, written
back with batched SQL, and turned into replica version rows for the analytics store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from hedgerow.domain.persons.models import Person, PersonDistinctId, PersonReplicaTombstone
from hedgerow.store.base import DistinctIdVersion, PersonVersion

_CHUNK = 500


@dataclass(eq=False)
class LivePerson:
    pk: int | None  # None until inserted
    uuid: str
    properties: dict[str, Any]
    is_identified: bool
    created_at: datetime
    version: int
    distinct_ids: list[LiveDistinctId] = field(default_factory=list)
    all_ids_loaded: bool = False
    dirty: bool = False
    deleted: bool = False


@dataclass(eq=False)
class LiveDistinctId:
    pk: int | None
    distinct_id: str
    person: LivePerson
    version: int
    dirty: bool = False


@dataclass
class ReplicaChanges:
    persons: list[PersonVersion]
    distinct_ids: list[DistinctIdVersion]


class PersonBatch:
    def __init__(self, session: Session, project_id: int):
        self.session = session
        self.project_id = project_id
        self._by_pk: dict[int, LivePerson] = {}
        self._ids: dict[str, LiveDistinctId] = {}
        self._looked_up: set[str] = set()
        self._new_persons: list[LivePerson] = []
        self._new_ids: list[LiveDistinctId] = []

    # --- loading --------------------------------------------------------------------------------
    def _columns(self) -> Any:
        return select(
            PersonDistinctId.id,
            PersonDistinctId.distinct_id,
            PersonDistinctId.version,
            Person.id,
            Person.uuid,
            Person.properties,
            Person.is_identified,
            Person.created_at,
            Person.version,
        ).join(Person, Person.id == PersonDistinctId.person_id)

    def _adopt(self, rows: Iterable[Any]) -> None:
        for did_pk, distinct_id, did_version, pk, uuid, properties, identified, created_at, version in rows:
            person = self._by_pk.get(pk)
            if person is None:
                person = LivePerson(pk, uuid, dict(properties or {}), bool(identified), created_at, version)
                self._by_pk[pk] = person
            if distinct_id not in self._ids:
                live = LiveDistinctId(did_pk, distinct_id, person, did_version)
                self._ids[distinct_id] = live
                person.distinct_ids.append(live)

    def preload(self, distinct_ids: Iterable[str]) -> None:
        wanted = sorted(set(distinct_ids) - self._looked_up)
        self._looked_up.update(wanted)
        for start in range(0, len(wanted), _CHUNK):
            # Row locks serialise concurrent writers to the same persons on PostgreSQL.
            query = (
                self._columns()
                .where(
                    PersonDistinctId.project_id == self.project_id,
                    PersonDistinctId.distinct_id.in_(wanted[start : start + _CHUNK]),
                )
                .with_for_update()
            )
            self._adopt(self.session.execute(query))

    def _load_all_ids(self, person: LivePerson) -> None:
        if person.all_ids_loaded or person.pk is None:
            return
        query = self._columns().where(PersonDistinctId.person_id == person.pk).with_for_update()
        self._adopt(self.session.execute(query))
        person.all_ids_loaded = True

    def person_for(self, distinct_id: str) -> LivePerson | None:
        if distinct_id not in self._looked_up:
            self.preload([distinct_id])
        live = self._ids.get(distinct_id)
        return live.person if live is not None else None

    # --- changes --------------------------------------------------------------------------------
    def create(
        self, uuid: str, properties: dict[str, Any], created_at: datetime, identified: bool
    ) -> LivePerson:
        person = LivePerson(None, uuid, properties, identified, created_at, 0, all_ids_loaded=True)
        self._new_persons.append(person)
        return person

    def attach(self, distinct_id: str, person: LivePerson) -> None:
        self._looked_up.add(distinct_id)
        live = LiveDistinctId(None, distinct_id, person, 0, dirty=True)
        self._ids[distinct_id] = live
        self._new_ids.append(live)
        person.distinct_ids.append(live)

    def merge(self, other: LivePerson, into: LivePerson) -> None:
        """Move every distinct id of `other` to `into`; `into` keeps its UUID, wins on properties."""
        self._load_all_ids(other)
        into.properties = {**other.properties, **into.properties}
        into.created_at = min(into.created_at, other.created_at)
        into.version = max(into.version, other.version)
        into.dirty = True
        for live in other.distinct_ids:
            live.person = into
            live.dirty = True
            into.distinct_ids.append(live)
        other.distinct_ids = []
        other.deleted = True

    # --- writing --------------------------------------------------------------------------------
    def _tombstones(self, kind: str, keys: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            rows = self.session.execute(
                select(PersonReplicaTombstone.key, PersonReplicaTombstone.version).where(
                    PersonReplicaTombstone.project_id == self.project_id,
                    PersonReplicaTombstone.kind == kind,
                    PersonReplicaTombstone.key.in_(chunk),
                )
            )
            found.update({key: version for key, version in rows})
        if found:
            self.session.execute(
                delete(PersonReplicaTombstone).where(
                    PersonReplicaTombstone.project_id == self.project_id,
                    PersonReplicaTombstone.kind == kind,
                    PersonReplicaTombstone.key.in_(list(found)),
                )
            )
        return found

    def _insert_persons(self, persons: list[LivePerson]) -> None:
        if not persons:
            return
        revived = self._tombstones("person", [p.uuid for p in persons])
        for person in persons:
            person.version = revived.get(person.uuid, -1) + 1
        rows = self.session.execute(
            insert(Person).returning(Person.id, Person.uuid),
            [
                {
                    "uuid": p.uuid,
                    "project_id": self.project_id,
                    "properties": p.properties,
                    "is_identified": p.is_identified,
                    "created_at": p.created_at,
                    "version": p.version,
                }
                for p in persons
            ],
        )
        pks = dict((uuid, pk) for pk, uuid in rows)
        for person in persons:
            person.pk = pks[person.uuid]

    def _write_distinct_ids(self, changed: list[LiveDistinctId]) -> None:
        fresh = [d for d in changed if d.pk is None]
        moved = [d for d in changed if d.pk is not None]
        if fresh:
            revived = self._tombstones("distinct_id", [d.distinct_id for d in fresh])
            for live in fresh:
                live.version = revived.get(live.distinct_id, -1) + 1
            self.session.execute(
                insert(PersonDistinctId),
                [
                    {
                        "project_id": self.project_id,
                        "distinct_id": d.distinct_id,
                        "person_id": d.person.pk,
                        "version": d.version,
                    }
                    for d in fresh
                ],
            )
        for live in moved:
            live.version += 1
        if moved:
            self.session.execute(
                update(PersonDistinctId),
                [{"id": d.pk, "person_id": d.person.pk, "version": d.version} for d in moved],
            )

    def bury(self, persons: list[LivePerson], distinct_ids: list[LiveDistinctId]) -> None:
        """Record the deletion versions so a revived UUID or distinct id starts above them."""
        rows = [("person", p.uuid, p.version) for p in persons]
        rows += [("distinct_id", d.distinct_id, d.version) for d in distinct_ids]
        if not rows:
            return
        keys = [(kind, key) for kind, key, _ in rows]
        for start in range(0, len(keys), _CHUNK):
            self.session.execute(
                delete(PersonReplicaTombstone).where(
                    PersonReplicaTombstone.project_id == self.project_id,
                    tuple_(PersonReplicaTombstone.kind, PersonReplicaTombstone.key).in_(
                        keys[start : start + _CHUNK]
                    ),
                )
            )
        self.session.execute(
            insert(PersonReplicaTombstone),
            [{"project_id": self.project_id, "kind": k, "key": key, "version": v} for k, key, v in rows],
        )

    def flush(self) -> ReplicaChanges:
        """Write every change; returns the version rows the analytics replica needs."""
        created = [p for p in self._new_persons if not p.deleted]
        self._insert_persons(created)
        changed = [p for p in self._by_pk.values() if p.dirty and not p.deleted]
        for person in changed:
            person.version += 1
        if changed:
            self.session.execute(
                update(Person),
                [
                    {
                        "id": p.pk,
                        "properties": p.properties,
                        "is_identified": p.is_identified,
                        "created_at": p.created_at,
                        "version": p.version,
                    }
                    for p in changed
                ],
            )
        changed_ids = [d for d in self._ids.values() if d.dirty and d.person.pk is not None]
        self._write_distinct_ids(changed_ids)
        removed = [p for p in self._by_pk.values() if p.deleted]
        for person in removed:
            person.version += 1
        if removed:
            self.session.execute(delete(Person).where(Person.id.in_([p.pk for p in removed])))
            self.bury(removed, [])
        versions = [self._version_row(p) for p in [*created, *changed, *removed]]
        id_versions = [
            DistinctIdVersion(self.project_id, d.distinct_id, d.person.uuid, d.version) for d in changed_ids
        ]
        return ReplicaChanges(versions, id_versions)

    def _version_row(self, person: LivePerson) -> PersonVersion:
        return PersonVersion(
            project_id=self.project_id,
            id=person.uuid,
            properties=orjson.dumps(person.properties).decode(),
            is_identified=person.is_identified,
            created_at=person.created_at,
            version=person.version,
            is_deleted=person.deleted,
        )
