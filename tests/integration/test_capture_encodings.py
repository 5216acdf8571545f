"""Every body shape and encoding the SDKs send, through real HTTP into the analytics store."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import update

from hedgerow.db.session import transaction
from hedgerow.domain.projects.models import Project
from hedgerow.store.base import CompiledQuery
from tests.support import HedgerowClient


def stored_events(hedgerow: HedgerowClient) -> list[dict[str, Any]]:
    """Every event in the analytics store (after the outbox is drained), oldest first."""
    hedgerow.app.state.replicator.drain()
    rows = hedgerow.app.state.store.query(
        CompiledQuery(
            "SELECT uuid, project_id, event, distinct_id, person_id, properties, timestamp "
            "FROM events ORDER BY timestamp, uuid",
            {},
        )
    )
    return [
        {
            "uuid": str(r[0]),
            "project_id": r[1],
            "event": r[2],
            "distinct_id": r[3],
            "person_id": str(r[4]),
            "properties": json.loads(r[5]),
            "timestamp": r[6],
        }
        for r in rows
    ]


# lz-string compressToBase64 of '[{"event":"$pageview","properties":{"token":"abc","distinct_id":"u1"}}]'
LZ64_PAGEVIEW = (
    "NobwRApgbhB2AuYBcYAkAHAhgc2gSwgHcwAaMdAJwHt0IL4CBnZceKgazmTEwCMBjUmAAmeRg1j94AfTzDuAVwCMYAL6qAukA==="
)


def _event(token: str, name: str = "signed_up", **extra: Any) -> dict[str, Any]:
    return {"event": name, "properties": {"token": token, "distinct_id": "user-1"}, **extra}


def _batch(token: str, n: int = 2) -> dict[str, Any]:
    return {
        "api_key": token,
        "batch": [{"event": f"ev{i}", "distinct_id": "user-1", "properties": {"i": i}} for i in range(n)],
    }


def _names(hedgerow: HedgerowClient) -> list[str]:
    return sorted(e["event"] for e in stored_events(hedgerow))


def _ok(response: Any) -> None:
    assert response.status_code == 200, response.text
    assert response.json() == {"status": 1}


@pytest.mark.parametrize("path", ["/e/", "/e", "/i/v0/e/", "/capture/", "/track/", "/engage/", "/batch/"])
def test_single_event_object_on_every_path(hedgerow: HedgerowClient, path: str) -> None:
    token = hedgerow.init.project_api_token
    _ok(hedgerow.http.post(path, json=_event(token)))
    events = stored_events(hedgerow)
    assert [(e["event"], e["distinct_id"], e["project_id"]) for e in events] == [
        ("signed_up", "user-1", hedgerow.project_id)
    ]


def test_json_array_of_events(hedgerow: HedgerowClient) -> None:
    token = hedgerow.init.project_api_token
    _ok(hedgerow.http.post("/e/", json=[_event(token, "a"), _event(token, "b")]))
    assert _names(hedgerow) == ["a", "b"]


def test_batch_object_gzip_by_content_encoding(hedgerow: HedgerowClient) -> None:
    body = gzip.compress(json.dumps(_batch(hedgerow.init.project_api_token, 3)).encode())
    response = hedgerow.http.post(
        "/batch/", content=body, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
    )
    _ok(response)
    assert _names(hedgerow) == ["ev0", "ev1", "ev2"]


def test_gzip_sniffed_from_magic_bytes_as_text_plain(hedgerow: HedgerowClient) -> None:
    body = gzip.compress(json.dumps(_batch(hedgerow.init.project_api_token)).encode())
    _ok(hedgerow.http.post("/i/v0/e/", content=body, headers={"Content-Type": "text/plain"}))
    assert _names(hedgerow) == ["ev0", "ev1"]


def test_gzip_by_query_hint(hedgerow: HedgerowClient) -> None:
    body = gzip.compress(json.dumps([_event(hedgerow.init.project_api_token)]).encode())
    _ok(hedgerow.http.post("/e/?compression=gzip-js&ver=1.2.3", content=body))
    assert _names(hedgerow) == ["signed_up"]


def test_form_base64_with_compression_hint(hedgerow: HedgerowClient) -> None:
    encoded = base64.b64encode(json.dumps(_batch(hedgerow.init.project_api_token)).encode()).decode()
    response = hedgerow.http.post(
        "/e/?compression=base64",
        content=f"data={quote(encoded)}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    _ok(response)
    assert _names(hedgerow) == ["ev0", "ev1"]


def test_form_base64_whose_plus_signs_became_spaces(hedgerow: HedgerowClient) -> None:
    payload = json.dumps([_event(hedgerow.init.project_api_token, "é>>>?")]).encode()
    encoded = base64.b64encode(payload).decode()
    assert "+" in encoded
    # An unencoded '+' in a form body decodes to a space; the server turns it back.
    response = hedgerow.http.post(
        "/e/", content=f"data={encoded}", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    _ok(response)
    assert _names(hedgerow) == ["é>>>?"]


def test_whole_body_base64(hedgerow: HedgerowClient) -> None:
    body = base64.b64encode(json.dumps(_event(hedgerow.init.project_api_token)).encode())
    _ok(hedgerow.http.post("/capture/", content=body, headers={"Content-Type": "text/plain"}))
    assert _names(hedgerow) == ["signed_up"]


def test_lz64(hedgerow: HedgerowClient) -> None:
    with transaction(hedgerow.app.state.sessionmaker) as session:
        session.execute(update(Project).where(Project.id == hedgerow.project_id).values(api_token="abc"))
    response = hedgerow.http.post(
        "/e/?compression=lz64",
        content=f"data={quote(LZ64_PAGEVIEW)}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    _ok(response)
    assert [(e["event"], e["distinct_id"]) for e in stored_events(hedgerow)] == [("$pageview", "u1")]


def test_get_with_data_query_parameter(hedgerow: HedgerowClient) -> None:
    encoded = base64.b64encode(json.dumps(_event(hedgerow.init.project_api_token)).encode()).decode()
    _ok(hedgerow.http.get(f"/e/?data={quote(encoded)}&ip=1&_=1700000000000"))
    assert _names(hedgerow) == ["signed_up"]


def test_beacon_answers_204_with_empty_body(hedgerow: HedgerowClient) -> None:
    response = hedgerow.http.post("/e/?beacon=1", json=_event(hedgerow.init.project_api_token))
    assert response.status_code == 204 and response.content == b""
    assert _names(hedgerow) == ["signed_up"]


def test_cors_preflight_and_echoed_origin(hedgerow: HedgerowClient) -> None:
    origin = "https://shop.example.com"
    preflight = hedgerow.http.options(
        "/e/",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert preflight.headers["access-control-allow-headers"] == "content-type"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    posted = hedgerow.http.post(
        "/e/", json=_event(hedgerow.init.project_api_token), headers={"Origin": origin}
    )
    assert posted.status_code == 200 and posted.headers["access-control-allow-origin"] == origin
    refused = hedgerow.http.post("/e/", json=_event("phc_nope"), headers={"Origin": origin})
    assert refused.headers["access-control-allow-origin"] == origin


def test_engage_without_event_becomes_identify(hedgerow: HedgerowClient) -> None:
    body = {"$token": hedgerow.init.project_api_token, "$distinct_id": "user-9", "$set": {"plan": "pro"}}
    _ok(hedgerow.http.post("/engage/", json=body))
    [event] = stored_events(hedgerow)
    assert (event["event"], event["distinct_id"]) == ("$identify", "user-9")
    assert event["properties"]["$set"] == {"plan": "pro"}


def test_performance_events_are_dropped(hedgerow: HedgerowClient) -> None:
    token = hedgerow.init.project_api_token
    _ok(hedgerow.http.post("/e/", json=[_event(token, "$performance_event"), _event(token, "kept")]))
    assert _names(hedgerow) == ["kept"]


def test_same_uuid_twice_is_stored_once(hedgerow: HedgerowClient) -> None:
    event_uuid = str(uuid.uuid4())
    body = {"api_key": hedgerow.init.project_api_token, "batch": [_event("x", uuid=event_uuid)]}
    _ok(hedgerow.http.post("/batch/", json=body))
    _ok(hedgerow.http.post("/batch/", json=body))
    events = stored_events(hedgerow)
    assert [e["uuid"] for e in events] == [event_uuid]


def test_missing_uuid_gets_a_uuid7(hedgerow: HedgerowClient) -> None:
    _ok(hedgerow.http.post("/capture/", json=_event(hedgerow.init.project_api_token)))
    [event] = stored_events(hedgerow)
    assert uuid.UUID(event["uuid"]).version == 7


def test_distinct_id_aliases_and_non_strings(hedgerow: HedgerowClient) -> None:
    token = hedgerow.init.project_api_token
    body = [
        {"event": "a", "$distinct_id": "dollar", "token": token},
        {"event": "b", "distinct_id": 42, "token": token},
        {"event": "c", "distinct_id": None, "properties": {"distinct_id": "from-props"}, "token": token},
        {"event": "d", "distinct_id": "x" * 300, "token": token},
    ]
    _ok(hedgerow.http.post("/e/", json=body))
    got = {e["event"]: e["distinct_id"] for e in stored_events(hedgerow)}
    assert got == {"a": "dollar", "b": "42", "c": "from-props", "d": "x" * 200}


def test_top_level_set_wins_over_properties_set(hedgerow: HedgerowClient) -> None:
    body = _event(hedgerow.init.project_api_token, "$set")
    body["properties"]["$set"] = {"plan": "free", "seats": 1}
    body["$set"] = {"plan": "pro"}
    body["$set_once"] = {"first": "yes"}
    _ok(hedgerow.http.post("/e/", json=body))
    [event] = stored_events(hedgerow)
    assert event["properties"]["$set"] == {"plan": "pro", "seats": 1}
    assert event["properties"]["$set_once"] == {"first": "yes"}
