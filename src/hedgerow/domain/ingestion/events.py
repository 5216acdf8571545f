"""Capture payloads (already decoded JSON) -> the project token and normalised events.

Shapes, in PostHog's order: a JSON array of events, a batch object `{api_key|token, batch,
sent_at?}`, a single event; on `/engage` an object without `event` becomes `$identify`.
"""

from __future__ import annotations

import json
import re
import uuid as uuidlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from hedgerow.db.types import uuid7
from hedgerow.domain.ingestion.errors import CaptureRejected, IngestKeyRequired, IngestKeyUnknown
from hedgerow.domain.ingestion.timestamps import event_micros, parse_iso
from hedgerow.store.base import from_micros, to_micros

MAX_DISTINCT_ID_LENGTH = 200
MAX_TOKEN_LENGTH = 64
DROPPED_EVENTS = frozenset({"$performance_event"})
_TOKEN_FIELDS = ("token", "$token", "api_key")
_CANONICAL_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class CaptureContext:
    now: datetime
    sent_at: datetime | None = None  # from the `_`/`sent_at` query parameter
    engage: bool = False  # the legacy `/engage` path


class CapturedEvent:
    """One accepted event. Its time is kept as microseconds since the epoch (what the queue
    stores), and becomes a datetime only when asked for."""

    __slots__ = ("distinct_id", "event", "micros", "properties", "uuid")

    def __init__(
        self, uuid: str, event: str, distinct_id: str, properties: dict[str, Any], timestamp: datetime | int
    ):
        self.uuid = uuid
        self.event = event
        self.distinct_id = distinct_id
        self.properties = properties
        self.micros = timestamp if isinstance(timestamp, int) else to_micros(timestamp)

    @property
    def timestamp(self) -> datetime:
        return from_micros(self.micros)

    @property
    def process_person_profile(self) -> bool:
        return self.properties.get("$process_person_profile") is not False

    def __repr__(self) -> str:
        when = self.timestamp.isoformat()
        return f"CapturedEvent({self.uuid!r}, {self.event!r}, {self.distinct_id!r}, {when})"


class PersonEvent(Protocol):
    """What person processing reads of an event (`CapturedEvent`, or a stored batch's event)."""

    @property
    def uuid(self) -> str: ...
    @property
    def event(self) -> str: ...
    @property
    def distinct_id(self) -> str: ...
    @property
    def properties(self) -> dict[str, Any]: ...
    @property
    def timestamp(self) -> datetime: ...
    @property
    def micros(self) -> int: ...  # the timestamp in microseconds since the epoch
    @property
    def process_person_profile(self) -> bool: ...


@dataclass(frozen=True)
class CaptureBatch:
    token: str
    events: list[CapturedEvent]


def _event_token(raw: dict[str, Any]) -> Any:
    for name in _TOKEN_FIELDS:
        if raw.get(name) is not None:
            return raw[name]
    props = raw.get("properties")
    return props.get("token") if isinstance(props, dict) else None


def checked_token(value: Any) -> str:
    """Shape checks only (PostHog's capture does the same); `phx_` marks a personal key."""
    if not isinstance(value, str) or not value.strip():
        raise IngestKeyRequired()
    token = value.strip()
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii() or "\x00" in token or token.startswith("phx_"):
        raise IngestKeyUnknown()
    return token


def _resolve_token(batch_token: Any, events: list[Any]) -> str:
    if batch_token is not None:
        return checked_token(batch_token)
    tokens = {_event_token(e) for e in events if isinstance(e, dict)} - {None}
    if len(tokens) > 1:
        raise CaptureRejected("All events in a batch must use the same token.", code="multiple_tokens")
    if not tokens:
        raise IngestKeyRequired()
    return checked_token(tokens.pop())


def _distinct_id(raw: dict[str, Any], properties: dict[str, Any]) -> str:
    value = raw.get("distinct_id")
    if value is None:
        value = raw.get("$distinct_id")
    if value is None:
        value = properties.get("distinct_id")
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("\x00", "\ufffd")[:MAX_DISTINCT_ID_LENGTH]
    if not text:
        raise CaptureRejected("Event submitted without a distinct_id.", code="missing_distinct_id")
    return text


def _event_uuid(raw: dict[str, Any]) -> str:
    value = raw.get("uuid")
    if value is None or value == "":
        return str(uuid7())
    if not isinstance(value, str):
        raise CaptureRejected("Event uuid must be a UUID string.", code="invalid_uuid")
    if _CANONICAL_UUID.match(value):  # what every SDK sends; parsing it costs more than the rest
        return value.lower()
    try:
        return str(uuidlib.UUID(value))
    except ValueError:
        raise CaptureRejected(f"Invalid event uuid: {value[:64]}", code="invalid_uuid") from None


def _merged_person_updates(raw: dict[str, Any], properties: dict[str, Any]) -> None:
    """Top-level `$set`/`$set_once` go into properties; the top-level value wins on a clash."""
    for name in ("$set", "$set_once"):
        top = raw.get(name)
        if isinstance(top, dict) and top:
            inner = properties.get(name)
            properties[name] = {**inner, **top} if isinstance(inner, dict) else dict(top)


def normalise_event(raw: Any, now: int, sent_at: int | None, *, engage: bool = False) -> CapturedEvent:
    """One event of a request received at `now` and sent at `sent_at` (microseconds)."""
    if not isinstance(raw, dict):
        raise CaptureRejected("Each event must be a JSON object.", code="invalid_event")
    name = raw.get("event")
    if name is None and engage:
        name = "$identify"
    if not isinstance(name, str) or not name:
        raise CaptureRejected("Event submitted without an event name.", code="missing_event_name")
    props = raw.get("properties")
    if props is None:
        properties: dict[str, Any] = {}
    elif isinstance(props, dict):
        properties = props  # decoded for this request alone: changed in place, not copied
    else:
        raise CaptureRejected("Event properties must be a JSON object.", code="invalid_event")
    cookieless = properties.get("$cookieless_mode")
    if cookieless is not None and not isinstance(cookieless, bool):
        raise CaptureRejected("$cookieless_mode must be a boolean.", code="invalid_cookieless_mode")
    distinct_id = _distinct_id(raw, properties)
    _merged_person_updates(raw, properties)
    micros = event_micros(
        timestamp=raw.get("timestamp"),
        offset=raw.get("offset"),
        sent_at=sent_at,
        ignore_sent_at=properties.get("$ignore_sent_at") is True,
        now=now,
    )
    return CapturedEvent(_event_uuid(raw), name, distinct_id, properties, micros)


def parse_capture(payload: Any, ctx: CaptureContext) -> CaptureBatch:
    """The token and the events of one request, or the reason to refuse it."""
    batch_token: Any = None
    batch_sent_at: datetime | None = None
    if isinstance(payload, list):
        raw_events: list[Any] = payload
    elif isinstance(payload, dict) and isinstance(payload.get("batch"), list):
        raw_events = payload["batch"]
        batch_token = payload.get("api_key") if payload.get("api_key") is not None else payload.get("token")
        batch_sent_at = parse_iso(payload.get("sent_at"))
    elif isinstance(payload, dict):
        raw_events = [payload]
    else:
        raise CaptureRejected("The payload must be a JSON object or array.", code="invalid_payload")
    if not raw_events:
        raise CaptureRejected("The batch is empty.", code="empty_batch")
    if not all(isinstance(raw, dict) for raw in raw_events):  # not a shape PostHog parses
        raise CaptureRejected("Each event must be a JSON object.", code="invalid_event")
    token = _resolve_token(batch_token, raw_events)
    now = to_micros(ctx.now)
    sent_at = batch_sent_at or ctx.sent_at
    sent_at_micros = None if sent_at is None else to_micros(sent_at)
    events = [
        normalise_event(raw, now, sent_at_micros, engage=ctx.engage)
        for raw in raw_events
        if not (isinstance(raw, dict) and raw.get("event") in DROPPED_EVENTS)
    ]
    if not events:
        raise CaptureRejected("Every event in the batch was filtered out.", code="empty_batch")
    return CaptureBatch(token=token, events=events)
