"""How an accepted capture batch is stored: column by column, ready for both of its readers.

Capture writes it once (`encode_batch`) and nobody re-encodes it: the applier reads the columns
it needs for persons (distinct ids, event names, and each event's *person inputs*, the few
properties that can change a person), and the outbox carries the same bytes on to the
analytics store, whose writer turns the columns into Arrow arrays without a Python object per
event. Properties are stored as the JSON text the analytics store keeps.

The first byte names the codec. `d`: four bytes giving the length of a JSON object with every
column but the properties texts, then the properties texts as a JSON array of their own, so the
applier never parses the largest column, which it does not read, and the analytics store's
writer parses it once. `D`: the same written by the standard library, when a person input holds
an integer beyond 64 bits (orjson can neither write nor read one back exactly). Earlier
versions' formats are still read, so batches queued before an upgrade apply normally: `c`/`C`,
the same columns in one JSON object (passed on as they are: every reader takes them), and
`o`/`j`, one JSON row per event (converted).
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

_SPLIT = b"d"
_SPLIT_STDLIB = b"D"
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
    # Per event, JSON text as stored in the analytics store; or that list still encoded, and
    # parsed the first time `properties` is read.
    properties_source: list[str] | bytes
    inputs: list[dict[str, Any]]  # per event: what person processing reads (`person_inputs`)

    def __len__(self) -> int:
        return len(self.uuid)

    @property
    def properties(self) -> list[str]:
        source = self.properties_source
        if isinstance(source, bytes):
            parsed = _loads_texts(source)
            if not isinstance(parsed, list) or len(parsed) != len(self):
                raise ValueError("the batch's properties do not match its events")
            self.properties_source = source = parsed
        return source

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


def _stdlib_dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()  # ASCII: a lone surrogate survives


def _loads_texts(data: bytes) -> Any:
    # The texts are JSON strings: orjson reads any of them exactly (no numbers to lose). One
    # holding a lone surrogate was written by the standard library, and only it reads it back.
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def encode_batch(events: Sequence[CapturedEvent], received_at: datetime) -> bytes:
    header = {
        "n": to_micros(received_at),
        "u": [e.uuid for e in events],
        "e": [e.event for e in events],
        "d": [e.distinct_id for e in events],
        "t": [e.micros for e in events],
        "i": [person_inputs(e.properties) for e in events],
    }
    texts = [dumps_text(e.properties) for e in events]
    try:
        codec, head = _SPLIT, orjson.dumps(header)
    except TypeError:
        codec, head = _SPLIT_STDLIB, _stdlib_dumps(header)
    try:
        body = orjson.dumps(texts)
    except TypeError:
        body = _stdlib_dumps(texts)
    return b"".join((codec, len(head).to_bytes(4, "big"), head, body))


def decode_batch(payload: bytes) -> tuple[StoredBatch, bytes]:
    """The batch, and its payload in a format every reader takes (`payload` itself unless it
    was written by an earlier version). Raises ValueError, KeyError or TypeError when
    unreadable (the properties texts of a `d`/`D` batch only when first read)."""
    codec, body = payload[:1], payload[1:]
    if codec in (_SPLIT, _SPLIT_STDLIB, _COLUMNAR, _COLUMNAR_STDLIB):
        texts: list[str] | bytes
        if codec in (_SPLIT, _SPLIT_STDLIB):
            size = int.from_bytes(body[:4], "big")
            head, texts = body[4 : 4 + size], body[4 + size :]
            if len(head) != size:
                raise ValueError("the batch is cut short")
            data: dict[str, Any] = orjson.loads(head) if codec == _SPLIT else json.loads(head)
        else:
            # Passed on as written: the outbox and the store's writer read this codec as well.
            data = orjson.loads(body) if codec == _COLUMNAR else json.loads(body)
            texts = data["p"]
        batch = StoredBatch(data["n"], data["u"], data["e"], data["d"], data["t"], texts, data["i"])
        columns = (batch.event, batch.distinct_id, batch.timestamp, batch.inputs)
        if any(len(column) != len(batch) for column in columns) or (
            isinstance(texts, list) and len(texts) != len(batch)
        ):
            raise ValueError("the batch's columns differ in length")
        return batch, payload
    if codec in (_ROWS_ORJSON, _ROWS_STDLIB):
        rows: dict[str, Any] = orjson.loads(body) if codec == _ROWS_ORJSON else json.loads(body)
        parse = datetime.fromisoformat
        events = [CapturedEvent(u, ev, did, props, parse(ts)) for u, ev, did, props, ts in rows["e"]]
        current = encode_batch(events, parse(rows["n"]))
        return decode_batch(current)[0], current
    raise ValueError(f"unknown batch codec {codec!r}")
