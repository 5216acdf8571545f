"""Persons touched by one ingestion batch: loaded in a few queries, changed in memory, written
back with batched SQL, and turned into replica version rows for the analytics store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, Text, bindparam, cast, delete, insert, select, update
from sqlalchemy.orm import Session

from hedgerow.db.bulk import BulkStatement
from hedgerow.domain.cohorts.static import move_members
from hedgerow.domain.persons.cache import PERSON_PROPERTIES
from hedgerow.domain.persons.identities import Generation, IdentityMemory
from hedgerow.domain.persons.json_text import dumps_text, loads_exact
from hedgerow.domain.persons.live import LiveDistinctId, LivePerson
from hedgerow.domain.persons.models import Person, PersonDistinctId
from hedgerow.domain.persons.tombstones import buried_versions, bury, unbury
from hedgerow.store.base import DistinctIdVersion, PersonVersion, from_micros, to_micros

_CHUNK = 500
# Distinct-id lookups run for every ingested group: fewer, larger statements cost less
# (SQLite takes up to 32,766 parameters, PostgreSQL 65,535).
_LOOKUP_CHUNK = 2000
_UNLOADED = datetime(1970, 1, 1, tzinfo=UTC)  # replaced from the row before anything reads it
# Core tables rather than ORM entities: ingestion is the hot path, and ORM bulk statements
# cost several times more per batch. Properties are read as JSON text and parsed with orjson.
PERSONS: Table = Person.__table__  # type: ignore[assignment]
DISTINCT_IDS: Table = PersonDistinctId.__table__  # type: ignore[assignment]
# The writes of every group: rows straight to the driver (db/bulk.py), properties as JSON text
# serialised once, for the store and for the replica's version row alike.
_INSERT_PERSONS = BulkStatement(
    insert(PERSONS),
    ("uuid", "project_id", "properties", "is_identified", "created_at", "version", "last_seen_at"),
    serialized=("properties",),
)
_UPDATE_PERSONS = BulkStatement(
    update(PERSONS)
    .where(PERSONS.c.id == bindparam("b_id"), PERSONS.c.version == bindparam("b_read"))
    .values(
        properties=bindparam("b_properties", type_=PERSONS.c.properties.type),
        is_identified=bindparam("b_identified", type_=PERSONS.c.is_identified.type),
        created_at=bindparam("b_created", type_=PERSONS.c.created_at.type),
        version=bindparam("b_version", type_=PERSONS.c.version.type),
        last_seen_at=bindparam("b_seen", type_=PERSONS.c.last_seen_at.type),
    ),
    ("b_properties", "b_identified", "b_created", "b_version", "b_seen", "b_id", "b_read"),
    serialized=("b_properties",),
)
_INSERT_IDS = BulkStatement(insert(DISTINCT_IDS), ("project_id", "distinct_id", "person_id", "version"))
_MOVE_IDS = BulkStatement(
    update(DISTINCT_IDS)
    .where(DISTINCT_IDS.c.id == bindparam("b_id"))
    .values(
        person_id=bindparam("b_person", type_=DISTINCT_IDS.c.person_id.type),
        version=bindparam("b_version", type_=DISTINCT_IDS.c.version.type),
    ),
    ("b_person", "b_version", "b_id"),
)


def _move(person: LivePerson) -> tuple[int, str, int, str]:
    """(merged pk, its UUID, surviving pk, its UUID) for a person merged away in this batch."""
    target = person.merged_into
    while target is not None and target.deleted:  # merged again, later in the same batch
        target = target.merged_into
    assert person.pk is not None and target is not None and target.pk is not None
    return person.pk, person.uuid, target.pk, target.uuid


def _seen_at(person: LivePerson) -> datetime | None:
    return None if person.last_seen is None else from_micros(person.last_seen)


@dataclass
class _Prepared:
    """What `PersonBatch.prepare` works out before the write turn."""

    changed: list[tuple[LivePerson, str]]  # stored persons changed, with their JSON texts
    update: tuple[str, Any]  # their UPDATE, as the driver takes it
    created: list[tuple[LivePerson, str]]  # new persons, with their JSON texts and versions
    insert: tuple[str, Any]  # their INSERT, as the driver takes it
    versions: list[PersonVersion]  # the version rows of both, new persons first
    buried_uuids: list[str]  # those of their UUIDs that have a tombstone (removed by `flush`)
    buried_ids: dict[str, int]  # deletion versions of the distinct ids to be inserted


class StalePersons(Exception):
    """Persons changed by another writer since this batch read them: nothing of the batch may be
    committed; applying it again reads them afresh."""


@dataclass
class ReplicaChanges:
    persons: list[PersonVersion]
    distinct_ids: list[DistinctIdVersion]


class PersonBatch:
    def __init__(
        self,
        session: Session,
        project_id: int,
        *,
        remembered: tuple[IdentityMemory, Generation] | None = None,
    ):
        self.session = session
        self.project_id = project_id
        # Distinct ids remembered at a generation (identities.py): only the rest are read. The
        # caller must check the generation is unchanged before writing (`apply_queued` does).
        self.remembered = remembered
        self._by_pk: dict[int, LivePerson] = {}
        self._ids: dict[str, LiveDistinctId] = {}
        self._looked_up: set[str] = set()
        self._new_persons: list[LivePerson] = []
        self._stored_versions: dict[int, int] = {}  # pk -> version as read
        self._written: list[LivePerson] = []
        self._removed: list[LivePerson] = []
        self._written_ids: list[LiveDistinctId] = []
        self._prepared: _Prepared | None = None
        # Distinct ids this batch made (for rows it read, or new ones), rather than took from the
        # identity memory.
        self._made_ids: list[LiveDistinctId] = []

    # --- loading --------------------------------------------------------------------------------
    def _columns(self) -> Any:
        # Only plain columns: the rest of a person comes from the cache when the version matches.
        p, d = PERSONS.c, DISTINCT_IDS.c
        return select(d.id, d.distinct_id, d.version, p.id, p.uuid, p.version).join(
            PERSONS, p.id == d.person_id
        )

    def _adopt_remembered(self, hits: list[LiveDistinctId]) -> None:
        """Take distinct ids, and their persons, as the identity memory holds them: the very
        objects, changed in place from here on (`apply_queued` makes the memory forget them
        unless the group commits)."""
        by_pk, ids, stored_versions = self._by_pk, self._ids, self._stored_versions
        for live in hits:
            ids[live.distinct_id] = live
            person = live.person
            pk = person.pk
            assert pk is not None
            if pk not in by_pk:
                by_pk[pk] = person
                stored_versions[pk] = person.version

    def _adopt(self, rows: Iterable[Any]) -> None:
        missing: list[LivePerson] = []
        memory = self.remembered[0] if self.remembered is not None else None
        # Runs for every distinct id read from the store: names bound once, arguments by position.
        by_pk, ids, stored_versions, cached_person = (
            self._by_pk,
            self._ids,
            self._stored_versions,
            PERSON_PROPERTIES.get,
        )
        for did_pk, distinct_id, did_version, pk, uuid, version in rows:
            person = by_pk.get(pk)
            if person is None:
                # A person remembered through another of its distinct ids stays one object.
                person = memory.person_as_read(pk, uuid, version) if memory is not None else None
                if person is None:
                    cached = cached_person(pk, uuid, version)
                    if cached is None:
                        person = LivePerson(pk, uuid, {}, False, _UNLOADED, version, [])
                        missing.append(person)
                    else:
                        person = LivePerson(pk, uuid, cached[2], cached[0], cached[1], version, [])
                        person.last_seen = cached[3]
                by_pk[pk] = person
                stored_versions[pk] = version
            if distinct_id not in ids:
                live = (
                    memory.distinct_id_as_read(self.project_id, distinct_id, person, did_version)
                    if memory is not None
                    else None
                )
                if live is None:
                    live = LiveDistinctId(did_pk, distinct_id, person, did_version)
                    person.distinct_ids.append(live)
                    self._made_ids.append(live)
                ids[distinct_id] = live
        self._load_rest(missing)

    def _load_rest(self, persons: list[LivePerson]) -> None:
        by_pk = {p.pk: p for p in persons}
        pks = list(by_pk)
        for start in range(0, len(pks), _CHUNK):
            rows = (
                self.session.connection()
                .execute(
                    select(
                        PERSONS.c.id,
                        PERSONS.c.is_identified,
                        PERSONS.c.created_at,
                        cast(PERSONS.c.properties, Text),
                        PERSONS.c.last_seen_at,
                    ).where(PERSONS.c.id.in_(pks[start : start + _CHUNK]))
                )
                .all()
            )
            for pk, identified, created_at, text, last_seen_at in rows:
                person = by_pk[pk]
                person.is_identified = bool(identified)
                person.created_at = created_at
                person.last_seen = None if last_seen_at is None else to_micros(last_seen_at)
                person.properties = loads_exact(text) if text else {}
                self._remember(person)

    def _remember(self, person: LivePerson) -> None:
        assert person.pk is not None
        PERSON_PROPERTIES.put(
            person.pk,
            person.uuid,
            person.version,
            person.properties,
            is_identified=person.is_identified,
            created_at=person.created_at,
            last_seen=person.last_seen,
        )

    def preload(self, distinct_ids: Iterable[str]) -> None:
        wanted = list(set(distinct_ids) - self._looked_up)
        self._looked_up.update(wanted)
        if self.remembered is not None:
            memory, generation = self.remembered
            hits, wanted = memory.split(generation, self.project_id, wanted)
            self._adopt_remembered(hits)
        wanted.sort()  # rows locked in one order by every writer
        for start in range(0, len(wanted), _LOOKUP_CHUNK):
            # Row locks serialise concurrent writers to the same persons on PostgreSQL.
            query = (
                self._columns()
                .where(
                    DISTINCT_IDS.c.project_id == self.project_id,
                    DISTINCT_IDS.c.distinct_id.in_(wanted[start : start + _LOOKUP_CHUNK]),
                )
                .with_for_update()
            )
            self._adopt(self.session.connection().execute(query).all())

    def _load_all_ids(self, person: LivePerson) -> None:
        if person.all_ids_loaded or person.pk is None:
            return
        query = self._columns().where(DISTINCT_IDS.c.person_id == person.pk).with_for_update()
        self._adopt(self.session.connection().execute(query).all())
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
        self._made_ids.append(live)
        person.distinct_ids.append(live)

    def merge(self, other: LivePerson, into: LivePerson) -> None:
        """Move every distinct id of `other` to `into`; `into` keeps its UUID, wins on properties."""
        self._load_all_ids(other)
        into.properties = {**other.properties, **into.properties}
        into.created_at = min(into.created_at, other.created_at)
        seen = [s for s in (into.last_seen, other.last_seen) if s is not None]
        into.last_seen = max(seen, default=None)
        into.version = max(into.version, other.version)
        into.dirty = True
        for live in other.distinct_ids:
            live.person = into
            live.dirty = True
            into.distinct_ids.append(live)
            # Remembered ids of `other` that this batch had not looked up are written too.
            self._ids[live.distinct_id] = live
            self._looked_up.add(live.distinct_id)
        other.distinct_ids = []
        other.deleted = True
        other.merged_into = into

    # --- writing --------------------------------------------------------------------------------
    def _insert_persons(self, prepared: _Prepared) -> None:
        if not prepared.created:
            return
        unbury(self.session, self.project_id, "person", prepared.buried_uuids)
        BulkStatement.run(self.session.connection(), prepared.insert)
        pks = self._pks(PERSONS.c.uuid, [p.uuid for p, _ in prepared.created])
        for person, _ in prepared.created:
            person.pk = pks[person.uuid]

    def _pks(self, key: Any, values: list[str]) -> dict[str, int]:
        """The primary keys of rows just inserted, by their key within the project (the
        driver's executemany hands back none)."""
        table = key.table
        pks: dict[str, int] = {}
        for start in range(0, len(values), _LOOKUP_CHUNK):
            rows = self.session.connection().execute(
                select(key, table.c.id).where(
                    table.c.project_id == self.project_id, key.in_(values[start : start + _LOOKUP_CHUNK])
                )
            )
            pks.update((value, pk) for value, pk in rows)
        return pks

    def _write_distinct_ids(self, changed: list[LiveDistinctId], buried: dict[str, int]) -> None:
        fresh = [d for d in changed if d.pk is None]
        moved = [d for d in changed if d.pk is not None]
        if fresh:
            revived = [d.distinct_id for d in fresh if d.distinct_id in buried]
            unbury(self.session, self.project_id, "distinct_id", revived)
            for live in fresh:
                live.version = buried.get(live.distinct_id, -1) + 1
            _INSERT_IDS.executemany(
                self.session.connection(),
                [(self.project_id, d.distinct_id, d.person.pk, d.version) for d in fresh],
            )
            pks = self._pks(DISTINCT_IDS.c.distinct_id, [d.distinct_id for d in fresh])
            for live in fresh:
                live.pk = pks[live.distinct_id]
        for live in moved:
            live.version += 1
        if moved:
            _MOVE_IDS.executemany(self.session.connection(), [(d.person.pk, d.version, d.pk) for d in moved])

    def prepare(self) -> _Prepared:
        """Work out what `flush` writes: for the persons already stored, their JSON texts, new
        versions and the UPDATE's rows as the driver takes them; the same for new persons and
        the INSERT, at versions above any deletion of their UUIDs; and the deletion versions of
        the distinct ids to be inserted. Nothing is written, so this can run before the write
        turn is taken, which `flush` then holds for less time. (Tombstones are written only with
        the deletion of a person or distinct id, so those read here hold while no person changes,
        which the caller checks under the turn.)"""
        dialect = self.session.get_bind().dialect
        changed = [(p, dumps_text(p.properties)) for p in self._by_pk.values() if p.dirty and not p.deleted]
        for person, _ in changed:
            person.version += 1
        stored = self._stored_versions
        rows = [
            (text, p.is_identified, p.created_at, p.version, _seen_at(p), p.pk, stored.get(p.pk or 0, -1))
            for p, text in changed
        ]
        created = [(p, dumps_text(p.properties)) for p in self._new_persons if not p.deleted]
        buried = buried_versions(self.session, self.project_id, "person", [p.uuid for p, _ in created])
        for person, _ in created:
            person.version = buried.get(person.uuid, -1) + 1
        project_id = self.project_id
        inserted = [
            (p.uuid, project_id, text, p.is_identified, p.created_at, p.version, _seen_at(p))
            for p, text in created
        ]
        fresh_ids = [d.distinct_id for d in self._ids.values() if d.dirty and d.pk is None]
        self._prepared = _Prepared(
            changed=changed,
            update=_UPDATE_PERSONS.driver_call(dialect, rows),
            created=created,
            insert=_INSERT_PERSONS.driver_call(dialect, inserted),
            versions=[self._version_row(p, text) for p, text in [*created, *changed]],
            buried_uuids=list(buried),
            buried_ids=buried_versions(self.session, self.project_id, "distinct_id", fresh_ids),
        )
        return self._prepared

    def flush(self) -> ReplicaChanges:
        """Write every change (`prepare`d first if it was not); returns the version rows the
        analytics replica needs."""
        prepared = self._prepared or self.prepare()
        changed, created = prepared.changed, prepared.created
        self._insert_persons(prepared)
        matched = _UPDATE_PERSONS.run(self.session.connection(), prepared.update)
        # Each row is updated only at the version this batch read: fewer rows means another
        # writer got there first, and what was computed here is stale.
        if matched is not None and matched != len(changed):
            raise StalePersons(f"{len(changed) - matched} person(s) changed meanwhile")
        changed_ids = [d for d in self._ids.values() if d.dirty and d.person.pk is not None]
        self._write_distinct_ids(changed_ids, prepared.buried_ids)
        removed = [p for p in self._by_pk.values() if p.deleted]
        for person in removed:
            person.version += 1
        if removed:
            move_members(self.session, project_id=self.project_id, moves=[_move(p) for p in removed])
            self.session.connection().execute(delete(Person).where(Person.id.in_([p.pk for p in removed])))
            bury(self.session, self.project_id, [(p.uuid, p.version) for p in removed])
        self._written = [p for p, _ in [*created, *changed]]
        self._removed = removed
        self._written_ids = changed_ids
        versions = [*prepared.versions, *(self._version_row(p, dumps_text(p.properties)) for p in removed)]
        id_versions = [
            DistinctIdVersion(self.project_id, d.distinct_id, d.person.uuid, d.version) for d in changed_ids
        ]
        return ReplicaChanges(versions, id_versions)

    def committed(self) -> None:
        """After the transaction that `flush` wrote in has committed: remember what it wrote in
        the persons cache, and clear this group's marks on what it worked on."""
        for person in self._written:
            self._remember(person)
            person.dirty = False
        # Persons changed only in memory (noisy keys, not written) keep their entry: the cache
        # holds its own copy, which still matches the unchanged row and version.
        for person in self._removed:
            PERSON_PROPERTIES.evict(person.pk or 0, person.uuid)
        for live in self._written_ids:
            live.dirty = False

    def remembered_state(self) -> tuple[list[LiveDistinctId], list[int]]:
        """What the identity memory is to add once this batch has `committed`: the distinct ids
        it read from the store or created (those it took from the memory are there already,
        changed in place), and the pks of the persons it deleted."""
        ids = [live for live in self._made_ids if live.pk is not None and not live.person.deleted]
        return ids, [p.pk for p in self._removed if p.pk is not None]

    def release(self) -> None:
        """Done with this batch: unlink its persons from their distinct ids. Each pair refers to
        the other, and left as cycles they wait for the cycle collector, whose passes over a
        group's thousands of pairs cost ingestion more than building them did. (Not for a batch
        working through the identity memory: its objects live on there, or, if the memory forgot
        them after a failure, are left to the collector.)"""
        if self.remembered is not None:
            return
        for person in [*self._by_pk.values(), *self._new_persons]:
            person.distinct_ids = []

    def forget_written(self) -> None:
        """For a caller that commits later (or may roll back): drop what `flush` wrote from the
        cache, so only committed rows are ever remembered."""
        for person in [*self._written, *self._removed]:
            PERSON_PROPERTIES.evict(person.pk or 0, person.uuid)

    def _version_row(self, person: LivePerson, text: str) -> PersonVersion:
        return PersonVersion(
            project_id=self.project_id,
            id=person.uuid,
            properties=text,
            is_identified=person.is_identified,
            created_at=person.created_at,
            version=person.version,
            is_deleted=person.deleted,
        )
