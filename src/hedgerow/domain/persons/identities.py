"""Persons and their distinct ids, remembered by an ingestion process between groups.

Applying a group of capture batches must know the stored person (and versions) behind every
distinct id it sees; reading them all from the metadata store for every group was most of the
applier's work, though usually nothing but the applier itself had changed them. Database
triggers count every change to persons and distinct ids (`person_generation`), whoever makes
it, so a process can tell: while the generation is where its own last commit left it, what it
remembers is exactly what the store holds, and only distinct ids it has never seen need reading.
The applier checks the generation again under its write lock and starts over (with the memory
dropped) if anyone else wrote meanwhile.

What is remembered are the very objects the last group worked on (`live.LivePerson`,
`live.LiveDistinctId`), not copies: the next group takes them as they are, with no rebuilding
or copying of properties per distinct id. A group changes them in place, so one that fails
(or is refused at its write) must `forget` everything; one that commits hands them back with
`remember`. A person's change to noisy keys alone is not written (see `properties.NOISY_KEYS`)
but stays on the remembered person, and is written with its next real change: the logical
result is the same as writing every event's changes.

One memory per engine, so separate databases in one process never share it; `instance`
(random per database) guards against a database replaced under the same address.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, Table, select
from sqlalchemy.orm import Session

from hedgerow.domain.persons.live import LiveDistinctId, LivePerson
from hedgerow.domain.persons.models import PersonGeneration

GENERATION: Table = PersonGeneration.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Generation:
    instance: str
    value: int


# Built once: read three times per ingested group, where building a statement costs more than
# running it.
_READ = select(GENERATION.c.instance, GENERATION.c.value).where(GENERATION.c.id == 1)
_READ_LOCKED = _READ.with_for_update()


def read_generation(session: Session, *, lock: bool = False) -> Generation:
    """The current generation, in `session`'s transaction; with `lock` (PostgreSQL), held until
    it ends, so no other writer of persons commits in between."""
    row = session.connection().execute(_READ_LOCKED if lock else _READ).one()
    return Generation(row[0], int(row[1]))


class IdentityMemory:
    def __init__(self, capacity: int = 500_000):
        self.capacity = capacity
        self._generation: Generation | None = None
        self._ids: dict[tuple[int, str], LiveDistinctId] = {}
        self._persons: dict[int, LivePerson] = {}  # by pk: one object per stored person
        self._lock = threading.Lock()

    def _drop(self) -> None:
        self._ids, self._persons = {}, {}

    def forget(self) -> None:
        """Drop everything (until `remember` is next called after a commit)."""
        with self._lock:
            self._generation = None
            self._drop()

    def split(
        self, generation: Generation, project_id: int, distinct_ids: Iterable[str]
    ) -> tuple[list[LiveDistinctId], list[str]]:
        """(the remembered distinct ids among these, the ids to read from the store) at
        `generation`; a different generation than the one remembered forgets everything first."""
        hits: list[LiveDistinctId] = []
        missing: list[str] = []
        with self._lock:
            if generation != self._generation:
                self._drop()
                self._generation = generation
            ids = self._ids
            for distinct_id in distinct_ids:
                live = ids.get((project_id, distinct_id))
                if live is None:
                    missing.append(distinct_id)
                else:
                    hits.append(live)
        return hits, missing

    def distinct_id(self, project_id: int, distinct_id: str) -> LiveDistinctId | None:
        return self._ids.get((project_id, distinct_id))

    # For rows read from the store at the generation `split` was last given: what is remembered
    # of them must be those very rows. A remembered object that differs cannot be at one
    # generation; if one ever did, everything is forgotten rather than either trusted.
    def person_as_read(self, pk: int, uuid: str, version: int) -> LivePerson | None:
        """The remembered person with this pk, uuid and version, if any."""
        person = self._persons.get(pk)
        if person is not None and (person.uuid != uuid or person.version != version):
            self.forget()
            return None
        return person

    def distinct_id_as_read(
        self, project_id: int, distinct_id: str, person: LivePerson, version: int
    ) -> LiveDistinctId | None:
        """The remembered distinct id, if any, which must belong to `person` at `version`."""
        live = self._ids.get((project_id, distinct_id))
        if live is not None and (live.person is not person or live.version != version):
            self.forget()
            return None
        return live

    def remember(
        self,
        read_at: Generation,
        written_at: Generation,
        ids: Iterable[tuple[int, LiveDistinctId]],
        removed: Iterable[int],
    ) -> None:
        """After a commit that moved the store from `read_at` (what the group read) to
        `written_at` and nothing else: these distinct ids (by project), and the persons they
        belong to, are what it now holds, persons with pks in `removed` are gone, and whatever
        else was remembered at `read_at` is unchanged."""
        with self._lock:
            if read_at != self._generation or len(self._ids) > self.capacity:
                self._drop()
            self._generation = written_at
            known, by_pk = self._ids, self._persons
            for project_id, live in ids:
                known[(project_id, live.distinct_id)] = live
                person = live.person
                assert person.pk is not None
                by_pk[person.pk] = person
            for pk in removed:
                by_pk.pop(pk, None)


_MEMORIES: weakref.WeakKeyDictionary[Engine, IdentityMemory] = weakref.WeakKeyDictionary()
_MEMORIES_LOCK = threading.Lock()


def identity_memory(engine: Engine) -> IdentityMemory:
    with _MEMORIES_LOCK:
        memory = _MEMORIES.get(engine)
        if memory is None:
            memory = _MEMORIES[engine] = IdentityMemory()
        return memory
