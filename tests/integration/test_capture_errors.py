"""Refusals: PostHog capture's status codes and its `{"status", "code", "error"}` body."""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

import httpx
import pytest

from tests.integration.test_capture_encodings import stored_events
from tests.support import HedgerowClient


def assert_capture_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"status", "code", "error"}, body
    assert body["status"] == status and body["code"] == code, body
    assert isinstance(body["error"], str) and body["error"]


def _event(token: Any, **extra: Any) -> dict[str, Any]:
    return {"event": "e", "distinct_id": "u", "token": token, **extra}


def test_empty_body_and_get_without_data(hedgerow: HedgerowClient) -> None:
    assert_capture_error(hedgerow.http.post("/e/", content=b""), 400, "empty_payload")
    assert_capture_error(hedgerow.http.get("/batch/"), 400, "empty_payload")


def test_invalid_json(hedgerow: HedgerowClient) -> None:
    assert_capture_error(hedgerow.http.post("/batch/", content=b"{nope"), 400, "request_parsing_error")


def test_bad_gzip(hedgerow: HedgerowClient) -> None:
    response = hedgerow.http.post("/batch/", content=b"\x1f\x8b\x08garbage")
    assert_capture_error(response, 400, "request_decoding_error")


def test_no_token_is_401(hedgerow: HedgerowClient) -> None:
    response = hedgerow.http.post("/e/", json={"event": "e", "distinct_id": "u"})
    assert_capture_error(response, 401, "ingest_key_required")
    response = hedgerow.http.post("/batch/", json={"batch": [{"event": "e", "distinct_id": "u"}]})
    assert_capture_error(response, 401, "ingest_key_required")


@pytest.mark.parametrize("token", ["phx_personal_key", "x" * 65, "tök", "phc_unknown"])
def test_bad_or_unknown_token_is_403(hedgerow: HedgerowClient, token: str) -> None:
    assert_capture_error(hedgerow.http.post("/e/", json=_event(token)), 403, "ingest_key_unknown")


def test_token_is_trimmed(hedgerow: HedgerowClient) -> None:
    response = hedgerow.http.post("/e/", json=_event(f"  {hedgerow.init.project_api_token} "))
    assert response.status_code == 200


def test_batch_token_wins_over_event_tokens(hedgerow: HedgerowClient) -> None:
    body = {"api_key": hedgerow.init.project_api_token, "batch": [_event("other"), _event("another")]}
    assert hedgerow.http.post("/batch/", json=body).status_code == 200
    assert len(stored_events(hedgerow)) == 2


def test_mixed_tokens_in_an_array(hedgerow: HedgerowClient) -> None:
    token = hedgerow.init.project_api_token
    response = hedgerow.http.post("/e/", json=[_event(token), _event("phc_other")])
    assert_capture_error(response, 400, "multiple_tokens")


def test_missing_event_name_and_distinct_id(hedgerow: HedgerowClient) -> None:
    token = hedgerow.init.project_api_token
    response = hedgerow.http.post("/e/", json={"distinct_id": "u", "token": token})
    assert_capture_error(response, 400, "missing_event_name")
    response = hedgerow.http.post("/e/", json={"event": "e", "token": token, "distinct_id": ""})
    assert_capture_error(response, 400, "missing_distinct_id")
    response = hedgerow.http.post("/e/", json={"event": "e", "token": token})
    assert_capture_error(response, 400, "missing_distinct_id")


def test_malformed_uuid_refuses_the_request(hedgerow: HedgerowClient) -> None:
    token = hedgerow.init.project_api_token
    response = hedgerow.http.post("/e/", json=[_event(token), _event(token, uuid="not-a-uuid")])
    assert_capture_error(response, 400, "invalid_uuid")
    assert stored_events(hedgerow) == []


def test_events_that_are_not_objects_are_refused_before_the_token_is_looked_for(
    hedgerow: HedgerowClient,
) -> None:
    assert_capture_error(hedgerow.http.post("/e/", content=b"[1, 2]"), 400, "invalid_event")
    body = {"batch": [{"event": "e", "distinct_id": "u"}, "x"]}
    assert_capture_error(hedgerow.http.post("/batch/", json=body), 400, "invalid_event")


def test_empty_batch_and_all_filtered(hedgerow: HedgerowClient) -> None:
    token = hedgerow.init.project_api_token
    assert_capture_error(hedgerow.http.post("/e/", json=[]), 400, "empty_batch")
    response = hedgerow.http.post("/e/", json=[_event(token, event="$performance_event")])
    assert_capture_error(response, 400, "empty_batch")


def test_cookieless_flag_must_be_boolean(hedgerow: HedgerowClient) -> None:
    body = _event(hedgerow.init.project_api_token, properties={"$cookieless_mode": "yes"})
    assert_capture_error(hedgerow.http.post("/e/", json=body), 400, "invalid_cookieless_mode")


def test_body_over_the_path_limit_is_413(hedgerow: HedgerowClient) -> None:
    token = hedgerow.init.project_api_token
    big = json.dumps(_event(token, properties={"blob": "x" * (2 * 1024 * 1024)})).encode()
    assert_capture_error(hedgerow.http.post("/e/", content=big), 413, "payload_too_large")
    # /batch allows 20 MB.
    response = hedgerow.http.post("/batch/", content=big)
    assert response.status_code == 200, response.text


def test_decompressed_size_is_checked_too(hedgerow: HedgerowClient) -> None:
    token = hedgerow.init.project_api_token
    bomb = gzip.compress(json.dumps(_event(token, properties={"blob": "a" * (3 * 1024 * 1024)})).encode())
    assert len(bomb) < 100_000
    assert_capture_error(hedgerow.http.post("/e/", content=bomb), 413, "payload_too_large")


def test_a_large_body_gets_the_same_answers_as_a_small_one(hedgerow: HedgerowClient) -> None:
    # Bodies past a few hundred kilobytes are decoded off the event loop.
    token = hedgerow.init.project_api_token
    events = [
        _event(token, uuid=f"0190a6f4-0000-7000-8000-{i:012d}", properties={"pad": "x" * 3000})
        for i in range(120)
    ]
    body = json.dumps({"api_key": token, "batch": events}).encode()
    assert len(body) > 300_000
    assert hedgerow.http.post("/batch/", content=body).status_code == 200
    assert len(stored_events(hedgerow)) == 120
    assert_capture_error(
        hedgerow.http.post("/batch/", content=b"{" + b" " * 300_000), 400, "request_parsing_error"
    )


def test_other_methods_on_capture_paths_are_not_allowed(hedgerow: HedgerowClient) -> None:
    for path in ("/batch/", "/e", "/i/v0/e/", "/capture/"):
        assert hedgerow.http.put(path, content=b"{}").status_code == 405
        assert hedgerow.http.delete(path).status_code == 405


def test_a_client_that_stops_sending_the_body_gets_408(hedgerow: HedgerowClient) -> None:
    sent: list[dict[str, Any]] = []
    messages = [
        {"type": "http.request", "body": b'{"api_key": "x", "batch": [', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/batch/",
        "raw_path": b"/batch/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
        "app": hedgerow.app,
    }
    asyncio.run(hedgerow.app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert start["status"] == 408
    assert json.loads(body)["code"] == "request_timeout"
