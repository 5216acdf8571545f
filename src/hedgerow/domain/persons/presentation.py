"""How a person row is shown: its display name and the order of its distinct ids."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from hedgerow.domain.persons.models import Person
from hedgerow.domain.persons.schemas import PersonDetailOut, PersonOut

# PostHog's display-name keys, in the order it tries them.
NAME_KEYS = ("email", "Email", "$email", "name", "Name", "username", "Username", "UserName")
MAX_DISTINCT_IDS = 1000
_UUID_LIKE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


def looks_like_uuid(value: str) -> bool:
    return bool(_UUID_LIKE.match(value))


def ordered_distinct_ids(distinct_ids: Sequence[str]) -> list[str]:
    """Readable ids (an email, a user id) before generated UUIDs; otherwise in the order added."""
    readable = [d for d in distinct_ids if not looks_like_uuid(d)]
    generated = [d for d in distinct_ids if looks_like_uuid(d)]
    return (readable + generated)[:MAX_DISTINCT_IDS]


def display_name(properties: dict[str, Any], distinct_ids: Sequence[str], fallback: str) -> str:
    for key in NAME_KEYS:
        value = properties.get(key)
        if isinstance(value, str) and value:
            return value
    for distinct_id in distinct_ids:
        if not looks_like_uuid(distinct_id):
            return distinct_id
    return fallback


def person_out(person: Person, distinct_ids: Sequence[str]) -> PersonOut:
    ids = ordered_distinct_ids(distinct_ids)
    return PersonOut(
        id=person.uuid,
        uuid=person.uuid,
        name=display_name(person.properties, ids, str(person.id)),
        distinct_ids=ids,
        properties=person.properties,
        created_at=person.created_at,
        last_seen_at=person.last_seen_at,
        is_identified=person.is_identified,
    )


def person_detail_out(person: Person, distinct_ids: Sequence[str]) -> PersonDetailOut:
    ids = ordered_distinct_ids(distinct_ids)
    return PersonDetailOut(
        id=person.id,
        name=display_name(person.properties, ids, str(person.id)),
        distinct_ids=ids,
        properties=person.properties,
        created_at=person.created_at,
        uuid=person.uuid,
        last_seen_at=person.last_seen_at,
        is_identified=person.is_identified,
    )
