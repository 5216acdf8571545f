"""Persons as last written, per process, keyed by (pk, uuid) and checked by version.

Ingestion reads the same persons again and again; parsing their JSON and converting their
columns each batch dominated the hot path. An entry is used only when the database row still
has the cached version (every write bumps it), so other processes writing the same persons
(scale-out on PostgreSQL) never see stale state.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class CachedPerson:
    is_identified: bool
    created_at: datetime
    properties: dict[str, Any]  # never handed out: `get` returns a copy
    last_seen: int | None  # microseconds


class PropertiesCache:
    def __init__(self, capacity: int = 200_000):
        self.capacity = capacity
        # Oldest write first (a dict keeps insertion order; `put` re-inserts): the first entries
        # are dropped when full. Reads do not reorder, so they stay cheap.
        self._entries: dict[tuple[int, str], tuple[int, CachedPerson]] = {}
        self._lock = threading.Lock()

    def get(
        self, pk: int, uuid: str, version: int
    ) -> tuple[bool, datetime, dict[str, Any], int | None] | None:
        """(is_identified, created_at, a private copy of the properties, last seen in
        microseconds) at exactly `version`."""
        entry = self._entries.get((pk, uuid))  # one dict read: atomic, no lock needed
        if entry is None or entry[0] != version:
            return None
        cached = entry[1]
        return cached.is_identified, cached.created_at, dict(cached.properties), cached.last_seen

    def put(
        self,
        pk: int,
        uuid: str,
        version: int,
        properties: dict[str, Any],
        *,
        is_identified: bool,
        created_at: datetime,
        last_seen: int | None,
    ) -> None:
        entry = (version, CachedPerson(is_identified, created_at, dict(properties), last_seen))
        with self._lock:
            self._entries.pop((pk, uuid), None)
            self._entries[(pk, uuid)] = entry
            if len(self._entries) > self.capacity:
                for key in list(itertools.islice(self._entries, len(self._entries) - self.capacity)):
                    del self._entries[key]

    def evict(self, pk: int, uuid: str) -> None:
        with self._lock:
            self._entries.pop((pk, uuid), None)


PERSON_PROPERTIES = PropertiesCache()
