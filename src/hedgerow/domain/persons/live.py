"""Persons and distinct ids as ingestion works on them in memory.

A group of capture batches reads them, changes them in place and writes the changed ones back
(`batch.PersonBatch`); the ingestion process then keeps them, as committed, for the next group
(`identities.IdentityMemory`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(eq=False, slots=True)
class LivePerson:
    pk: int | None  # None until inserted
    uuid: str
    properties: dict[str, Any]
    is_identified: bool
    created_at: datetime
    version: int
    distinct_ids: list[LiveDistinctId] = field(default_factory=list)
    all_ids_loaded: bool = False
    dirty: bool = False  # must be written (and versioned)
    deleted: bool = False
    merged_into: LivePerson | None = None
    last_seen: int | None = None  # `last_seen_at`'s hour in microseconds (compared per event)


@dataclass(eq=False, slots=True)
class LiveDistinctId:
    pk: int | None
    distinct_id: str
    person: LivePerson
    version: int
    dirty: bool = False
