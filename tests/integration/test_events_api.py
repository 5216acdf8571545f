"""The events API: newest first, filters, paging, scope query:read."""

from __future__ import annotations

from typing import Any

from tests.integration.test_persons_merges import by_distinct_id, send
from tests.support import HedgerowClient, assert_error


def _seed(hedgerow: HedgerowClient) -> None:
    send(
        hedgerow,
        *[
            {
                "event": "pageview" if i % 2 else "click",
                "distinct_id": "anon" if i < 3 else "user",
                "timestamp": f"2026-02-0{i + 1}T12:00:00Z",
                "uuid": f"0190a6f4-0000-7000-8000-00000000000{i}",
                "properties": {"i": i},
            }
            for i in range(6)
        ],
    )


def _list(hedgerow: HedgerowClient, **params: Any) -> list[int]:
    response = hedgerow.get(hedgerow.api("events"), params=params)
    assert response.status_code == 200, response.text
    return [e["properties"]["i"] for e in response.json()["results"]]


def test_newest_first_with_posthog_fields(hedgerow: HedgerowClient) -> None:
    _seed(hedgerow)
    body = hedgerow.get(hedgerow.api("events")).json()
    assert body["next"] is None
    first = body["results"][0]
    assert first == {
        "id": "0190a6f4-0000-7000-8000-000000000005",
        "distinct_id": "user",
        "properties": {"i": 5},
        "event": "pageview",
        "timestamp": "2026-02-06T12:00:00Z",
        "person": None,
        "person_id": by_distinct_id(hedgerow, "user")["uuid"],
        "elements": [],
        "elements_chain": "",
    }
    assert [e["properties"]["i"] for e in body["results"]] == [5, 4, 3, 2, 1, 0]


def test_filters(hedgerow: HedgerowClient) -> None:
    _seed(hedgerow)
    assert _list(hedgerow, event="click") == [4, 2, 0]
    assert _list(hedgerow, distinct_id="anon") == [2, 1, 0]
    assert _list(hedgerow, after="2026-02-02T12:00:00Z", before="2026-02-05T00:00:00Z") == [3, 2]
    person = by_distinct_id(hedgerow, "user")
    assert _list(hedgerow, person_id=person["uuid"]) == [5, 4, 3]
    # After a merge, the person's events include those of the merged-in distinct id.
    send(hedgerow, {"event": "$identify", "distinct_id": "user", "properties": {"$anon_distinct_id": "anon"}})
    merged = _list(hedgerow, person_id=person["uuid"], event="click")
    assert merged == [4, 2, 0]
    bad = hedgerow.get(hedgerow.api("events"), params={"after": "soon"})
    assert_error(bad, 400, type="validation_error", code="invalid_input", attr="after")


def test_paging_by_limit_and_next(hedgerow: HedgerowClient) -> None:
    _seed(hedgerow)
    page = hedgerow.get(hedgerow.api("events"), params={"limit": 4}).json()
    assert [e["properties"]["i"] for e in page["results"]] == [5, 4, 3, 2]
    rest = hedgerow.http.get(page["next"], headers={"Authorization": f"Bearer {hedgerow.key}"}).json()
    assert [e["properties"]["i"] for e in rest["results"]] == [1, 0] and rest["next"] is None


def test_scope_is_query_read(hedgerow: HedgerowClient) -> None:
    assert hedgerow.get(hedgerow.api("events"), key=hedgerow.issue_key(["query:read"])).status_code == 200
    denied = hedgerow.get(hedgerow.api("events"), key=hedgerow.issue_key(["event:read", "person:read"]))
    assert_error(
        denied, 403, type="authentication_error", code="permission_denied",
        detail="API key missing required scope 'query:read'",
    )  # fmt: skip


def test_other_projects_events_are_invisible(hedgerow: HedgerowClient) -> None:
    _seed(hedgerow)
    other = hedgerow.create_project()
    response = hedgerow.http.post("/e/", json={"event": "x", "distinct_id": "z", "token": other.api_token})
    assert response.status_code == 200
    assert len(_list(hedgerow)) == 6
    assert _list(hedgerow, event="x") == []
    assert hedgerow.get(hedgerow.api("events", other.id)).json()["results"][0]["event"] == "x"
