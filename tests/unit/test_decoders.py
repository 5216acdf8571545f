"""Capture body decoders: lz-string, gzip limits, base64 detection and the decoding order."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from hedgerow.api.capture_decoding import decode_capture_body, gunzip, looks_like_base64
from hedgerow.api.lz64 import LZStringError, decompress_from_base64
from hedgerow.domain.ingestion.errors import CaptureRejected, PayloadTooLarge

PAYLOAD = [{"event": "$pageview", "properties": {"token": "abc", "distinct_id": "u1"}}]


def decode(body: bytes, **kwargs: object) -> object:
    options: dict[str, object] = {
        "query": {},
        "content_type": "application/json",
        "content_encoding": None,
        "legacy_path": True,
        "limit": 1_000_000,
    }
    options.update(kwargs)
    return decode_capture_body(body, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("compressed", "text"),
    [
        (
            "NobwRApgbhB2AuYBcYAkAHAhgc2gSwgHcwAaMdAJwHt0IL4CBnZceKgazmTEwCMBjUmAAmeRg1j94AfTzDuAVwCMYAL6qAukA===",
            json.dumps(PAYLOAD, separators=(",", ":")),
        ),
        ("BYS4NmD2AEA/2Fo5Q4aZA===", "héllo ü 中文"),
        ("", ""),
    ],
)
def test_lz_string_vectors(compressed: str, text: str) -> None:
    assert decompress_from_base64(compressed) == text


def test_lz_string_rejects_garbage() -> None:
    with pytest.raises(LZStringError):
        decompress_from_base64("!!!!")


def test_gunzip_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"a" * 1_000_000)
    assert gunzip(gzip.compress(b"abc"), 10) == b"abc"
    with pytest.raises(PayloadTooLarge):
        gunzip(bomb, 1000)


def test_base64_detection_is_strict() -> None:
    assert looks_like_base64(b"eyJhIjoxfQ==")
    assert not looks_like_base64(b'{"a":1}')
    assert not looks_like_base64(b"abc")  # not a multiple of 4


def test_every_encoding_yields_the_same_json() -> None:
    raw = json.dumps(PAYLOAD).encode()
    b64 = base64.b64encode(raw)
    assert decode(raw) == PAYLOAD
    assert decode(gzip.compress(raw), content_type="text/plain") == PAYLOAD
    assert decode(gzip.compress(raw), content_encoding="gzip") == PAYLOAD
    assert decode(b64, legacy_path=False) == PAYLOAD
    form = b"data=" + b64.replace(b"+", b"%2B") + b"&compression=base64"
    assert decode(form, content_type="application/x-www-form-urlencoded", legacy_path=False) == PAYLOAD
    assert decode(b"", query={"data": b64.decode()}) == PAYLOAD
    # Legacy paths decode text that is still base64 after decompression.
    assert decode(gzip.compress(b64)) == PAYLOAD


def test_form_without_its_content_type() -> None:
    raw = json.dumps(PAYLOAD).encode()
    body = b"data=" + base64.b64encode(raw) + b"&compression=base64"
    assert decode(body, content_type="text/plain", legacy_path=False) == PAYLOAD


def test_query_hint_beats_form_hint_and_header() -> None:
    raw = json.dumps(PAYLOAD).encode()
    body = b"data=" + base64.b64encode(raw) + b"&compression=lz64"
    decoded = decode(
        body,
        query={"compression": "base64"},
        content_type="application/x-www-form-urlencoded",
        content_encoding="gzip",
    )
    assert decoded == PAYLOAD


def test_refusals() -> None:
    with pytest.raises(CaptureRejected):
        decode(b"   ")
    with pytest.raises(CaptureRejected):
        decode(b"not json at all")
    with pytest.raises(PayloadTooLarge):
        decode(json.dumps(PAYLOAD).encode(), limit=10)


def test_integers_beyond_64_bits_parse_as_numbers() -> None:
    assert decode(b'{"n": 123456789012345678901234567890}') == {"n": 1.2345678901234568e29}
