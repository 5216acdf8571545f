"""JSON with orjson's speed and the standard library's exactness for integers beyond 64 bits.

orjson writes no such integer (TypeError) and reads one back as a float; a run of 20 digits is
the cheap sign that one may be present, and only then is the standard library used.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_DIGITS = re.compile(r"\d{20}")
_LONG_DIGITS_BYTES = re.compile(rb"\d{20}")


def dumps_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # ASCII: a lone surrogate (which orjson refuses too) is escaped, so the text encodes.
        return json.dumps(value, separators=(",", ":"))


def loads_exact(data: bytes | str) -> Any:
    """Parse JSON, keeping integers of any size exact; raises ValueError on invalid JSON."""
    long_digits = _LONG_DIGITS_BYTES.search(data) if isinstance(data, bytes) else _LONG_DIGITS.search(data)
    if long_digits is None:
        return orjson.loads(data)
    return json.loads(data)
