"""How an accepted capture batch is stored: column by column, ready for both of its readers.

Capture writes it once (`encode_batch`) and nobody re-encodes it: the applier reads the columns
it needs for persons (distinct ids, event names, and each event's *person inputs*, the few
properties that can change a person), and the outbox carries the same bytes on to the
analytics store, whose writer turns the columns into Arrow arrays without a Python object per
event. Properties are stored as the JSON text the analytics store keeps.

The first byte names the codec: `c` orjson; `C` the standard library, when a person input holds
an integer beyond 64 bits (orjson can neither write nor read one back exactly). `o` and `j` are
the row-per-event formats of earlier versions, still read (and converted) so batches queued
before an upgrade apply normally.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from hedgerow.domain.ingestion.events import CapturedEvent
from hedgerow.domain.persons.json_text import dumps_text
from hedgerow.domain.persons.properties import person_inputs
from hedgerow.store.base import EventColumns, from_micros, to_micros

_COLUMNAR = b"c"
_COLUMNAR_STDLIB = b"C"
_ROWS_ORJSON = b"o"
_ROWS_STDLIB = b"j"


class StoredEvent:
    """One event of a stored batch as person processing reads it (`PersonEvent`): properties are
    its person inputs only, and the timestamp becomes a datetime only if asked for (a new
    person's `created_at`), not for every event."""

    __slots__ = ("distinct_id", "event", "micros", "properties", "uuid")

    def __init__(self, uuid: str, event: str, distinct_id: str, properties: dict[str, Any], micros: int):
        self.uuid = uuid
        self.event = event
        self.distinct_id = distinct_id
        self.properties = properties
        self.micros = micros

    @property
    def timestamp(self) -> datetime:
        return from_micros(self.micros)

    @property
    def process_person_profile(self) -> bool:
        return self.properties.get("$process_person_profile") is not False


@dataclass
class StoredBatch:
    received_at: int  # microseconds since the epoch, like `timestamp`
    uuid: list[str]
    event: list[str]
    distinct_id: list[str]
    timestamp: list[int]
    properties: list[str]  # JSON text, as stored in the analytics store
    inputs: list[dict[str, Any]]  # per event: what person processing reads (`person_inputs`)

    def __len__(self) -> int:
        return len(self.uuid)

    def person_events(self) -> list[StoredEvent]:
        """The events as person processing sees them: properties are the person inputs only."""
        columns = (self.uuid, self.event, self.distinct_id, self.inputs, self.timestamp)
        return [StoredEvent(*values) for values in zip(*columns, strict=True)]

    def event_columns(self, project_id: int, person_ids: list[str]) -> EventColumns:
        count = len(self.uuid)
        return EventColumns(
            self.uuid,
            [project_id] * count,
            self.event,
            self.distinct_id,
            person_ids,
            self.properties,
            self.timestamp,
            [self.received_at] * count,
        )


def _encode(data: dict[str, Any]) -> bytes:
    try:
        return _COLUMNAR + orjson.dumps(data)
    except TypeError:
        return _COLUMNAR_STDLIB + json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def encode_batch(events: Sequence[CapturedEvent], received_at: datetime) -> bytes:
    return _encode(
        {
            "n": to_micros(received_at),
            "u": [e.uuid for e in events],
            "e": [e.event for e in events],
            "d": [e.distinct_id for e in events],
            "t": [to_micros(e.timestamp) for e in events],
            "p": [dumps_text(e.properties) for e in events],
            "i": [person_inputs(e.properties) for e in events],
        }
    )


def decode_batch(payload: bytes) -> tuple[StoredBatch, bytes]:
    """The batch, and its payload in the current format (`payload` itself unless it was
    written by an earlier version). Raises ValueError, KeyError or TypeError when unreadable."""
    codec, body = payload[:1], payload[1:]
    if codec in (_COLUMNAR, _COLUMNAR_STDLIB):
        data: dict[str, Any] = orjson.loads(body) if codec == _COLUMNAR else json.loads(body)
        batch = StoredBatch(data["n"], data["u"], data["e"], data["d"], data["t"], data["p"], data["i"])
        columns = (batch.event, batch.distinct_id, batch.timestamp, batch.properties, batch.inputs)
        if any(len(column) != len(batch) for column in columns):
            raise ValueError("the batch's columns differ in length")
        return batch, payload
    if codec in (_ROWS_ORJSON, _ROWS_STDLIB):
        rows: dict[str, Any] = orjson.loads(body) if codec == _ROWS_ORJSON else json.loads(body)
        parse = datetime.fromisoformat
        events = [CapturedEvent(u, ev, did, props, parse(ts)) for u, ev, did, props, ts in rows["e"]]
        current = encode_batch(events, parse(rows["n"]))
        return decode_batch(current)[0], current
    raise ValueError(f"unknown batch codec {codec!r}")
