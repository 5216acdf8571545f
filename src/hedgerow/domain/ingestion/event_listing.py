"""Reading events back (`GET /events/`): newest first, from the analytics store.

The SQL is built from the store dialect's own placeholders and functions, so the same code
serves DuckDB and ClickHouse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from hedgerow.domain.common import iso_z
from hedgerow.query.dialects.base import dialect_named
from hedgerow.store.base import AnalyticsStore, CompiledQuery, to_micros


def _micros(value: datetime) -> int:
    return to_micros(value.astimezone(UTC))


@dataclass(frozen=True)
class EventQuery:
    project_id: int
    event: str | None = None
    distinct_ids: Sequence[str] | None = None  # None: any; empty: nobody
    after: datetime | None = None
    before: datetime | None = None
    limit: int = 100
    offset: int = 0


def compile_event_listing(query: EventQuery, dialect_name: str) -> CompiledQuery:
    dialect = dialect_named(dialect_name)
    params: dict[str, Any] = {}

    def bind(value: Any) -> str:
        name = f"p{len(params)}"
        params[name] = value
        return dialect.placeholder(name, value)

    where = [f"project_id = {bind(query.project_id)}"]
    if query.event is not None:
        where.append(f"event = {bind(query.event)}")
    if query.distinct_ids is not None:
        ids = ", ".join(bind(d) for d in query.distinct_ids)
        where.append(f"distinct_id IN ({ids})" if ids else dialect.false)
    if query.after is not None:
        where.append(f"{dialect.epoch_us('timestamp')} > {bind(_micros(query.after))}")
    if query.before is not None:
        where.append(f"{dialect.epoch_us('timestamp')} < {bind(_micros(query.before))}")
    sql = (
        "SELECT uuid, event, distinct_id, person_id, properties, timestamp FROM events "
        f"WHERE {' AND '.join(where)} "
        f"ORDER BY timestamp DESC, uuid DESC LIMIT {int(query.limit)} OFFSET {int(query.offset)}"
    )
    return CompiledQuery(sql, params)


def list_events(store: AnalyticsStore, query: EventQuery) -> list[dict[str, Any]]:
    """Events as PostHog's events API shows them."""
    rows = store.query(compile_event_listing(query, store.dialect))
    return [
        {
            "id": str(uuid),
            "distinct_id": distinct_id,
            "properties": orjson.loads(properties) if properties else {},
            "event": event,
            "timestamp": iso_z(timestamp),
            "person": None,
            "person_id": str(person_id) if person_id is not None else None,
            "elements": [],
            "elements_chain": "",
        }
        for uuid, event, distinct_id, person_id, properties, timestamp in rows
    ]
