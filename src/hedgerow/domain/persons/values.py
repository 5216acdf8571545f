"""The values a person property takes across a project's persons (`GET /persons/values/`)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hedgerow.domain.persons.models import Person

# PostHog answers with the most common values only.
MAX_VALUES = 20


def _value_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def person_property_values(
    session: Session, *, project_id: int, key: str | None, search: str | None = None
) -> list[dict[str, Any]]:
    """`[{name, count}]`, most common first (then by name); values are shown as text, and
    persons without the property, or with it null or empty, are not counted. `search` keeps
    the values whose text contains it, ignoring case."""
    if not key:
        return []
    needle = (search or "").lower()
    counts: Counter[str] = Counter()
    rows = session.scalars(
        select(Person.properties).where(Person.project_id == project_id).execution_options(yield_per=1000)
    )
    for properties in rows:
        if not isinstance(properties, dict) or properties.get(key) is None:
            continue
        name = _value_name(properties[key])
        if name and needle in name.lower():
            counts[name] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:MAX_VALUES]
    return [{"name": name, "count": count} for name, count in ranked]
