"""Capture request bodies -> JSON, accepting every encoding PostHog's SDKs have ever sent.

Order (PostHog's capture service): `data` query parameter or body; a body that is entirely
base64; form fields `data`/`compression`; a compression hint (query, form, Content-Encoding);
gzip by hint or by magic bytes, lz-string by hint; base64 once more on legacy paths; size
check; JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

import orjson

from hedgerow.api.lz64 import LZStringError, decompress_from_base64
from hedgerow.domain.ingestion.errors import CaptureRejected, PayloadTooLarge

GZIP_MAGIC = b"\x1f\x8b\x08"
FORM_PREFIXES = (b"data=", b"ver=", b"_=", b"ip=", b"compression=")
_STRICT_B64 = re.compile(rb"^[A-Za-z0-9+/]+={0,2}$")
_HINTS = {
    "gzip": "gzip",
    "gzip-js": "gzip",
    "lz64": "lz64",
    "lz-string": "lz64",
    "base64": "base64",
    "b64": "base64",
}


def _hint(value: str | None) -> str | None:
    return _HINTS.get(value.strip().lower()) if value else None


def looks_like_base64(data: bytes) -> bool:
    return len(data) % 4 == 0 and bool(data) and _STRICT_B64.match(data) is not None


def _b64decode(data: bytes) -> bytes:
    cleaned = data.strip().replace(b" ", b"+")
    padded = cleaned + b"=" * (-len(cleaned) % 4)
    try:
        if b"-" in padded or b"_" in padded:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded)
    except (binascii.Error, ValueError):
        raise CaptureRejected("The payload is not valid base64.", code="request_decoding_error") from None


def gunzip(data: bytes, limit: int) -> bytes:
    """Stops at `limit` bytes of output, so a compressed bomb costs nothing."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise CaptureRejected("The payload is not valid gzip.", code="request_decoding_error") from None
    if len(out) > limit:
        raise PayloadTooLarge()
    return out


def _lz64(data: bytes, limit: int) -> bytes:
    try:
        text = decompress_from_base64(data.decode("ascii"), max_units=limit)
    except (LZStringError, UnicodeDecodeError):
        raise CaptureRejected("The payload is not valid lz-string.", code="request_decoding_error") from None
    return text.encode("utf-8", "replace")


def _parse_json(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    try:
        # Integers beyond 64 bits and lone surrogates are valid JSON that orjson refuses.
        return json.loads(data.decode("utf-8", "replace"))
    except ValueError:
        raise CaptureRejected("The payload is not valid JSON.", code="request_parsing_error") from None


def decode_capture_body(
    body: bytes,
    *,
    query: Mapping[str, str],
    content_type: str,
    content_encoding: str | None,
    legacy_path: bool,
    limit: int,
) -> Any:
    """The JSON a capture request carries; raises CaptureRejected or PayloadTooLarge."""
    form_compression: str | None = None
    query_data = query.get("data")
    data = query_data.encode("utf-8") if query_data else body
    if not data.strip():
        raise CaptureRejected("The request carries no payload.", code="empty_payload")
    from_form = False
    # A body starting with `data=` is a form even when a beacon or proxy dropped the content type.
    is_form = "application/x-www-form-urlencoded" in content_type.lower() or body.startswith(b"data=")
    if not query_data and is_form:
        fields = parse_qs(body.decode("latin-1"), keep_blank_values=True)
        if "data" in fields:
            value = fields["data"][0].encode("latin-1")
            data = value.replace(b" ", b"+") if looks_like_base64(value.replace(b" ", b"+")) else value
            from_form = True
        form_compression = fields["compression"][0] if fields.get("compression") else None
    if not from_form and not data.startswith(FORM_PREFIXES) and looks_like_base64(data.strip()):
        data = _b64decode(data)
    hint = _hint(query.get("compression")) or _hint(form_compression) or _hint(content_encoding)
    if hint == "base64" and looks_like_base64(data.strip().replace(b" ", b"+")):
        data = _b64decode(data)
    if hint == "gzip" or data.startswith(GZIP_MAGIC):
        data = gunzip(data, limit)
    elif hint == "lz64":
        data = _lz64(data, limit)
    if len(data) > limit:
        raise PayloadTooLarge()
    stripped = data.strip()
    if legacy_path and looks_like_base64(stripped):
        data = _b64decode(stripped)
        if data.startswith(GZIP_MAGIC):
            data = gunzip(data, limit)
    if not data.strip():
        raise CaptureRejected("The request carries no payload.", code="empty_payload")
    return _parse_json(data)
