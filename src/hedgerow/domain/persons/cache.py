"""Person properties as last written, per process, keyed by (pk, uuid) and checked by version.

Ingestion reads the same persons again and again; parsing their JSON each batch dominated the
hot path. An entry is used only when the database row still has the cached version, so other
processes writing the same persons (scale-out on PostgreSQL) never see stale properties.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class PropertiesCache:
    def __init__(self, capacity: int = 200_000):
        self.capacity = capacity
        self._entries: OrderedDict[tuple[int, str], tuple[int, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, pk: int, uuid: str, version: int) -> dict[str, Any] | None:
        """A private copy of the properties at exactly `version`, or None."""
        with self._lock:
            entry = self._entries.get((pk, uuid))
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end((pk, uuid))
            return dict(entry[1])

    def put(self, pk: int, uuid: str, version: int, properties: dict[str, Any]) -> None:
        with self._lock:
            self._entries[(pk, uuid)] = (version, dict(properties))
            self._entries.move_to_end((pk, uuid))
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def evict(self, pk: int, uuid: str) -> None:
        with self._lock:
            self._entries.pop((pk, uuid), None)


PERSON_PROPERTIES = PropertiesCache()
