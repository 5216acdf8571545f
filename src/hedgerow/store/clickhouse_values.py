"""Values crossing the chDB boundary as text: query parameters out, JSON results back.

chDB receives `{name:Type}` parameter values as text in ClickHouse's *escaped* format (the
same text a server receives as `param_<name>` over HTTP), so `render_param` is the one place
that turns Python values into that text. Results come back as JSONCompact and are decoded
by their declared column types into the Python values clickhouse-connect would give, with
UUIDs as text and datetimes as timezone-aware UTC.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

# Escaped format: a backslash starts an escape, so it and the control characters that end a
# value (tab, newline) must be escaped; inside quoted literals the quote must be escaped too.
_ESCAPES = str.maketrans(
    {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0", "\b": "\\b", "\f": "\\f"}
)
_QUOTED_ESCAPES = str.maketrans(
    {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0", "\b": "\\b", "\f": "\\f", "'": "\\'"}
)


def _datetime_text(value: datetime) -> str:
    # Naive datetimes are UTC by the store's convention.
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def render_param(value: Any, *, nested: bool = False) -> str:
    """`value` as the text of a `{name:Type}` parameter (`nested`: an element of a container)."""
    if value is None:
        return "NULL" if nested else "\\N"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        return f"'{value.translate(_QUOTED_ESCAPES)}'" if nested else value.translate(_ESCAPES)
    if isinstance(value, datetime):
        text = _datetime_text(value)
    elif isinstance(value, date | uuid.UUID):
        text = str(value)
    elif isinstance(value, time):
        text = value.isoformat()
    elif isinstance(value, list | tuple | set | frozenset):
        inner = ", ".join(render_param(item, nested=True) for item in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    elif isinstance(value, Mapping):
        pairs = (f"{render_param(k, nested=True)}: {render_param(v, nested=True)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    else:
        raise TypeError(f"cannot bind a {type(value).__name__} as a ClickHouse parameter")
    return f"'{text}'" if nested else text


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return _datetime_text(value)
    if isinstance(value, date | uuid.UUID):
        return str(value)
    raise TypeError(f"cannot insert a {type(value).__name__} into ClickHouse")


def json_compact_row(values: Sequence[Any]) -> str:
    """One JSONCompactEachRow line; datetimes in the text form DateTime64 columns parse."""
    return json.dumps(list(values), ensure_ascii=False, default=_json_default)


def _unwrap(type_name: str, wrapper: str) -> str | None:
    if type_name.startswith(wrapper + "(") and type_name.endswith(")"):
        return type_name[len(wrapper) + 1 : -1]
    return None


def _timezone_of(type_name: str) -> ZoneInfo | None:
    if "'" not in type_name:
        return None
    return ZoneInfo(type_name.split("'")[1])


def decoder(type_name: str) -> Callable[[Any], Any]:
    """How to turn a JSONCompact value of ClickHouse type `type_name` into a Python value."""
    if (inner := _unwrap(type_name, "LowCardinality")) is not None:
        return decoder(inner)
    if (inner := _unwrap(type_name, "Nullable")) is not None:
        element = decoder(inner)
        return lambda v: None if v is None else element(v)
    if (inner := _unwrap(type_name, "Array")) is not None:
        element = decoder(inner)
        return lambda v: [element(x) for x in v]
    if type_name.startswith("Tuple("):
        return tuple
    if type_name.startswith("DateTime"):
        zone = _timezone_of(type_name) or UTC
        return lambda v: datetime.fromisoformat(v).replace(tzinfo=zone).astimezone(UTC)
    if type_name in ("Date", "Date32"):
        return date.fromisoformat
    if type_name.startswith(("Int", "UInt")):
        return int
    if type_name.startswith(("Float", "BFloat")):
        return float
    if type_name.startswith("Decimal"):
        return lambda v: Decimal(str(v))
    if type_name == "Bool":
        return bool
    return _identity


def _identity(value: Any) -> Any:
    return value


def decode_json_compact(raw: bytes) -> list[tuple[Any, ...]]:
    """Rows of a JSONCompact result, each value decoded by its column's type."""
    if not raw:
        return []
    body = json.loads(raw)
    decoders = [decoder(column["type"]) for column in body["meta"]]
    return [tuple(decode(value) for decode, value in zip(decoders, row, strict=True)) for row in body["data"]]


def normalise(value: Any) -> Any:
    """A clickhouse-connect value in the store's conventions (UUIDs as text, aware UTC datetimes)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, tuple):
        return tuple(normalise(v) for v in value)
    return value
