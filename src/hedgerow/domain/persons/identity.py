"""Person identity rules: the deterministic person UUID, and ids that must never be merged."""

from __future__ import annotations

import uuid

PERSON_UUID_NAMESPACE = uuid.UUID("932979b4-65c3-4424-8467-0b66ec27bc22")

_ILLEGAL_ANY_CASE = frozenset(
    {
        "anonymous",
        "guest",
        "distinctid",
        "distinct_id",
        "id",
        "not_authenticated",
        "email",
        "undefined",
        "true",
        "false",
    }
)
_ILLEGAL_EXACT = frozenset({"[object Object]", "NaN", "None", "none", "null", "0", "undefined"})


def person_uuid(project_id: int, distinct_id: str) -> str:
    """UUIDv5 of `"{team_id}:{distinct_id}"`, so the same first id always yields the same person."""
    return str(uuid.uuid5(PERSON_UUID_NAMESPACE, f"{project_id}:{distinct_id}"))


def is_illegal_merge_id(distinct_id: str) -> bool:
    """Placeholder ids SDKs send by mistake; merging on them would fuse unrelated people."""
    value = distinct_id.strip()
    if not value:
        return True
    for quote in ('"', "'"):
        if len(value) >= 2 and value[0] == quote and value[-1] == quote:
            value = value[1:-1]
            break
    return value.lower() in _ILLEGAL_ANY_CASE or value in _ILLEGAL_EXACT
