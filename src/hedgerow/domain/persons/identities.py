"""Which person each distinct id belongs to, remembered by an ingestion process between groups.

Applying a group of capture batches must know the stored person (and versions) behind every
distinct id it sees; reading them all from the metadata store for every group was most of the
applier's work, though usually nothing but the applier itself had changed them. Database
triggers count every change to persons and distinct ids (`person_generation`), whoever makes
it, so a process can tell: while the generation is where its own last commit left it, the
rows it remembers are exactly what the store holds, and only distinct ids it has never seen
need reading. The applier checks the generation again under its write lock and starts over
(with the memory dropped) if anyone else wrote meanwhile.

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

from hedgerow.domain.persons.models import PersonGeneration

GENERATION: Table = PersonGeneration.__table__  # type: ignore[assignment]
# (distinct id pk, distinct id, distinct id version, person pk, person uuid, person version):
# the columns `PersonBatch` reads for a distinct id.
IdentityRow = tuple[int, str, int, int, str, int]


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
        self._rows: dict[tuple[int, str], IdentityRow] = {}
        # Person pk -> version, kept apart from the rows: a commit that changed a person through
        # one of its distinct ids leaves the rows of its other ids (not in that group) behind.
        self._versions: dict[int, int] = {}
        self._lock = threading.Lock()

    def _forget(self) -> None:
        self._rows.clear()
        self._versions.clear()

    def split(
        self, generation: Generation, project_id: int, distinct_ids: Iterable[str]
    ) -> tuple[list[IdentityRow], list[str]]:
        """(rows remembered for these ids, ids to read from the store) at `generation`; a
        different generation than the one remembered forgets everything first."""
        hits: list[IdentityRow] = []
        missing: list[str] = []
        with self._lock:
            if generation != self._generation:
                self._forget()
                self._generation = generation
            rows, versions = self._rows, self._versions
            for distinct_id in distinct_ids:
                row = rows.get((project_id, distinct_id))
                if row is None or (version := versions.get(row[3])) is None:
                    missing.append(distinct_id)
                else:
                    hits.append(row if version == row[5] else (*row[:5], version))
        return hits, missing

    def remember(
        self, read_at: Generation, written_at: Generation, rows: Iterable[tuple[int, IdentityRow]]
    ) -> None:
        """After a commit that moved the store from `read_at` (what the rows were read at) to
        `written_at` and nothing else: these rows are what it now holds, and what was
        remembered at `read_at` and not among them is unchanged. Rows are (project id, row)."""
        with self._lock:
            if read_at != self._generation or len(self._rows) > self.capacity:
                self._forget()
            self._generation = written_at
            for project_id, row in rows:
                self._rows[(project_id, row[1])] = row
                self._versions[row[3]] = row[5]


_MEMORIES: weakref.WeakKeyDictionary[Engine, IdentityMemory] = weakref.WeakKeyDictionary()
_MEMORIES_LOCK = threading.Lock()


def identity_memory(engine: Engine) -> IdentityMemory:
    with _MEMORIES_LOCK:
        memory = _MEMORIES.get(engine)
        if memory is None:
            memory = _MEMORIES[engine] = IdentityMemory()
        return memory
