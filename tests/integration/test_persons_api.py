"""The persons REST API: list filters and paging, retrieve, property edits, deletion, scopes."""

from __future__ import annotations

import json

from hedgerow.store.base import CompiledQuery
from tests.integration.test_persons_merges import by_distinct_id, persons, send
from tests.support import HedgerowClient, assert_error


def _seed(hedgerow: HedgerowClient) -> None:
    send(
        hedgerow,
        {"event": "a", "distinct_id": "ann", "timestamp": "2026-01-01T00:00:00Z",
         "$set": {"email": "ann@example.com", "age": 31, "vip": True}},
        {"event": "a", "distinct_id": "bob", "timestamp": "2026-01-02T00:00:00Z",
         "$set": {"email": "bob@corp.io", "age": "25"}},
        {"event": "a", "distinct_id": "3f1c6c4e-1111-4222-8333-444455556666",
         "timestamp": "2026-01-03T00:00:00Z"},
    )  # fmt: skip


def _ids(response: object) -> list[str]:
    return [p["distinct_ids"][0] for p in response.json()["results"]]  # type: ignore[attr-defined]


def test_list_newest_first_without_count_unless_asked(hedgerow: HedgerowClient) -> None:
    _seed(hedgerow)
    response = hedgerow.get(hedgerow.api("persons"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    assert _ids(response) == ["3f1c6c4e-1111-4222-8333-444455556666", "bob", "ann"]
    uuid_only = body["results"][0]
    assert uuid_only["name"].isdigit()  # no email and no readable distinct id: PostHog shows the pk
    counted = hedgerow.get(hedgerow.api("persons"), params={"include_total": "true"}).json()
    assert counted["count"] == 3


def test_paging_links(hedgerow: HedgerowClient) -> None:
    _seed(hedgerow)
    first = hedgerow.get(hedgerow.api("persons"), params={"limit": 2}).json()
    assert len(first["results"]) == 2 and first["previous"] is None
    assert first["next"].endswith(f"/api/projects/{hedgerow.project_id}/persons/?limit=2&offset=2")
    second = hedgerow.http.get(first["next"], headers={"Authorization": f"Bearer {hedgerow.key}"}).json()
    assert [p["distinct_ids"] for p in second["results"]] == [["ann"]] and second["next"] is None


def test_filters(hedgerow: HedgerowClient) -> None:
    _seed(hedgerow)
    url = hedgerow.api("persons")
    assert _ids(hedgerow.get(url, params={"distinct_id": "bob"})) == ["bob"]
    assert _ids(hedgerow.get(url, params={"email": "ann@example.com"})) == ["ann"]
    assert _ids(hedgerow.get(url, params={"search": "CORP"})) == ["bob"]
    assert _ids(hedgerow.get(url, params={"search": "an"})) == ["ann"]
    assert _ids(hedgerow.get(url, params={"search": "3f1c6c4e"})) == ["3f1c6c4e-1111-4222-8333-444455556666"]

    def props(*filters: dict[str, object]) -> list[str]:
        return _ids(hedgerow.get(url, params={"properties": json.dumps(list(filters))}))

    assert props({"key": "email", "value": "bob@corp.io", "operator": "exact", "type": "person"}) == ["bob"]
    assert props({"key": "age", "value": ["31", 25], "operator": "exact", "type": "person"}) == ["bob", "ann"]
    assert props({"key": "vip", "value": "true", "type": "person"}) == ["ann"]
    assert props({"key": "email", "value": "EXAMPLE", "operator": "icontains", "type": "person"}) == ["ann"]
    assert props({"key": "email", "operator": "is_set", "type": "person"}) == ["bob", "ann"]
    assert props({"key": "email", "value": "ann@example.com", "operator": "is_not", "type": "person"}) == [
        "3f1c6c4e-1111-4222-8333-444455556666",
        "bob",
    ]
    assert props({"key": "age", "value": 30, "operator": "gt", "type": "person"}) == ["ann"]
    assert props({"key": "age", "value": ["31", "40"], "operator": "in", "type": "person"}) == ["ann"]
    assert props({"key": "email", "value": ["ann@example.com"], "operator": "not_in", "type": "person"}) == [
        "3f1c6c4e-1111-4222-8333-444455556666",
        "bob",
    ]
    bad = hedgerow.get(url, params={"properties": "{not json"})
    assert_error(bad, 400, type="validation_error", code="invalid_input", attr="properties")


def test_date_filters(hedgerow: HedgerowClient) -> None:
    send(
        hedgerow,
        {"event": "a", "distinct_id": "iso", "$set": {"signed_up": "2025-03-10T15:00:00Z"}},
        {"event": "a", "distinct_id": "unix", "$set": {"signed_up": 1741046400}},  # 2025-03-04
        {"event": "a", "distinct_id": "text", "$set": {"signed_up": "not a date"}},
    )

    def dated(operator: str, value: str) -> list[str]:
        flt = [{"key": "signed_up", "value": value, "operator": operator, "type": "person"}]
        return sorted(_ids(hedgerow.get(hedgerow.api("persons"), params={"properties": json.dumps(flt)})))

    assert dated("is_date_before", "2025-03-05") == ["unix"]
    assert dated("is_date_after", "2025-03-04") == ["iso"]  # after the whole of that day
    assert dated("is_date_exact", "2025-03-10") == ["iso"]
    assert dated("is_date_after", "-30d") == []
    assert dated("is_date_before", "-30d") == ["iso", "unix"]


def test_retrieve_by_pk_or_uuid(hedgerow: HedgerowClient) -> None:
    _seed(hedgerow)
    listed = by_distinct_id(hedgerow, "ann")
    by_uuid = hedgerow.get(hedgerow.api("persons") + listed["uuid"] + "/")
    assert by_uuid.status_code == 200
    detail = by_uuid.json()
    assert isinstance(detail["id"], int) and detail["uuid"] == listed["uuid"]
    assert detail["name"] == "ann@example.com" and detail["distinct_ids"] == ["ann"]
    assert hedgerow.get(hedgerow.api("persons") + f"{detail['id']}/").json() == detail
    missing = hedgerow.get(hedgerow.api("persons") + "00000000-0000-0000-0000-000000000000/")
    assert_error(missing, 404, type="invalid_request", code="not_found")


def test_property_edits_go_through_ingestion(hedgerow: HedgerowClient) -> None:
    _seed(hedgerow)
    person = by_distinct_id(hedgerow, "ann")
    base = hedgerow.api("persons") + person["uuid"] + "/"
    response = hedgerow.post(base + "update_property/", json={"key": "plan", "value": "pro"})
    assert response.status_code == 202 and response.content == b""
    assert by_distinct_id(hedgerow, "ann")["properties"]["plan"] == "pro"
    response = hedgerow.patch(base, json={"properties": {"seats": 5}})
    assert response.status_code == 202
    response = hedgerow.post(base + "delete_property/", json={"$unset": "age"})
    assert response.status_code == 201 and response.json() == {"success": True}
    props = by_distinct_id(hedgerow, "ann")["properties"]
    assert props["seats"] == 5 and "age" not in props
    missing = hedgerow.post(base + "update_property/", json={"value": 1})
    assert_error(missing, 400, type="validation_error", code="required", attr="key")
    # As PostHog: a null value counts as missing, and the value is checked before the key.
    for body in ({"key": "plan", "value": None}, {"key": "plan"}, {}):
        missing = hedgerow.post(base + "update_property/", json=body)
        assert_error(missing, 400, type="validation_error", code="required", attr="value")
    assert by_distinct_id(hedgerow, "ann")["properties"]["plan"] == "pro"
    events = hedgerow.get(hedgerow.api("events"), params={"distinct_id": "ann"}).json()["results"]
    assert [e["event"] for e in events][:3] == ["$delete_person_property", "$set", "$set"]
    # The analytics replica holds the same properties.
    rows = hedgerow.app.state.store.query(
        CompiledQuery(
            "SELECT properties FROM persons_latest WHERE id = CAST($id AS UUID)", {"id": person["uuid"]}
        )
    )
    assert json.loads(rows[0][0]) == props


def test_delete_person_and_revive(hedgerow: HedgerowClient) -> None:
    _seed(hedgerow)
    person = by_distinct_id(hedgerow, "bob")
    response = hedgerow.delete(hedgerow.api("persons") + person["uuid"] + "/")
    assert response.status_code == 202
    assert _ids(hedgerow.get(hedgerow.api("persons"))) == ["3f1c6c4e-1111-4222-8333-444455556666", "ann"]
    hedgerow.app.state.replicator.drain()
    store = hedgerow.app.state.store
    gone = "SELECT count(*) FROM person_distinct_ids_latest WHERE distinct_id = 'bob'"
    assert store.query(CompiledQuery(gone, {}))[0][0] == 0
    # The same distinct id comes back: same UUIDv5, and the replica shows it alive again.
    send(hedgerow, {"event": "back", "distinct_id": "bob"})
    revived = by_distinct_id(hedgerow, "bob")
    assert revived["uuid"] == person["uuid"]
    hedgerow.app.state.replicator.drain()
    assert store.query(CompiledQuery(gone, {}))[0][0] == 1
    alive = store.query(
        CompiledQuery(
            "SELECT count(*) FROM persons_latest WHERE id = CAST($id AS UUID)", {"id": person["uuid"]}
        )
    )
    assert alive[0][0] == 1


def test_bulk_delete_and_create_refused(hedgerow: HedgerowClient) -> None:
    _seed(hedgerow)
    response = hedgerow.post(hedgerow.api("persons") + "bulk_delete/", json={"distinct_ids": ["ann", "bob"]})
    assert response.status_code == 202
    assert len(persons(hedgerow)) == 1
    refused = hedgerow.post(hedgerow.api("persons"), json={"properties": {}})
    assert_error(refused, 405, type="invalid_request", code="method_not_allowed")


def test_scopes(hedgerow: HedgerowClient) -> None:
    _seed(hedgerow)
    person = by_distinct_id(hedgerow, "ann")
    reader = hedgerow.issue_key(["person:read"])
    assert hedgerow.get(hedgerow.api("persons"), key=reader).status_code == 200
    denied = hedgerow.delete(hedgerow.api("persons") + person["uuid"] + "/", key=reader)
    assert_error(
        denied, 403, type="authentication_error", code="permission_denied",
        detail="API key missing required scope 'person:write'",
    )  # fmt: skip
    other = hedgerow.issue_key(["cohort:read"])
    denied = hedgerow.get(hedgerow.api("persons"), key=other)
    assert_error(
        denied, 403, type="authentication_error", code="permission_denied",
        detail="API key missing required scope 'person:read'",
    )  # fmt: skip


def test_merged_away_uuid_comes_back_alive_in_the_replica(hedgerow: HedgerowClient) -> None:
    send(hedgerow, {"event": "a", "distinct_id": "anon"}, {"event": "b", "distinct_id": "user"})
    # Both persons stored (and replicated) before the merge, not merged in memory in one group.
    hedgerow.app.state.replicator.drain()
    send(hedgerow, {"event": "$identify", "distinct_id": "user", "properties": {"$anon_distinct_id": "anon"}})
    merged = by_distinct_id(hedgerow, "user")
    assert hedgerow.delete(hedgerow.api("persons") + merged["uuid"] + "/").status_code == 202
    send(hedgerow, {"event": "c", "distinct_id": "anon"})
    revived = by_distinct_id(hedgerow, "anon")
    hedgerow.app.state.replicator.drain()
    rows = hedgerow.app.state.store.query(
        CompiledQuery("SELECT id, version FROM persons_latest ORDER BY id", {})
    )
    # The merge deleted anon's first person at version 1; its revival must outrank that.
    assert [(str(r[0]), r[1]) for r in rows] == [(revived["uuid"], 2)]


def test_filtered_paging_and_total(hedgerow: HedgerowClient) -> None:
    send(
        hedgerow,
        *[
            {
                "event": "e",
                "distinct_id": f"p{i}",
                "timestamp": f"2026-03-0{i + 1}T00:00:00Z",
                "$set": {"n": i % 2},
            }
            for i in range(7)
        ],
    )
    url = hedgerow.api("persons")
    odd = json.dumps([{"key": "n", "value": 1, "operator": "exact", "type": "person"}])
    first = hedgerow.get(url, params={"properties": odd, "limit": 2}).json()
    assert [p["distinct_ids"][0] for p in first["results"]] == ["p5", "p3"]
    assert "count" not in first and first["next"] is not None
    last = hedgerow.get(url, params={"properties": odd, "limit": 2, "offset": 2}).json()
    assert [p["distinct_ids"][0] for p in last["results"]] == ["p1"] and last["next"] is None
    total = hedgerow.get(url, params={"properties": odd, "limit": 2, "include_total": "1"}).json()
    assert total["count"] == 3
    plain = hedgerow.get(url, params={"limit": 7}).json()
    assert len(plain["results"]) == 7 and plain["next"] is None
    assert hedgerow.get(url, params={"limit": 6}).json()["next"] is not None


def test_newer_operators(hedgerow: HedgerowClient) -> None:
    """§3.3's newer operators: between, not_between, min, max, semver_*, is_cleaned_path_exact."""
    send(
        hedgerow,
        {"event": "a", "distinct_id": "v1", "$set": {"age": 17, "app": "1.2.3", "path": "/pricing"}},
        {"event": "a", "distinct_id": "v2", "$set": {"age": "30", "app": "v1.10.0", "path": "/pricing/"}},
        {"event": "a", "distinct_id": "v3", "$set": {"age": 65, "app": "2.0.0-beta", "path": "/about"}},
        {"event": "a", "distinct_id": "v4", "$set": {"age": "old", "app": "banana"}},
    )

    def ids(operator: str, value: object, key: str) -> list[str]:
        flt = [{"key": key, "value": value, "operator": operator, "type": "person"}]
        response = hedgerow.get(hedgerow.api("persons"), params={"properties": json.dumps(flt)})
        assert response.status_code == 200, response.text
        return sorted(_ids(response))

    assert ids("between", [18, 65], "age") == ["v2", "v3"]
    assert ids("between", ["17", "30"], "age") == ["v1", "v2"]
    assert ids("not_between", [18, 64], "age") == ["v1", "v3"]
    assert ids("min", 30, "age") == ["v2", "v3"]
    assert ids("max", 30, "age") == ["v1", "v2"]
    assert ids("semver_eq", "1.2.3", "app") == ["v1"]
    assert ids("semver_neq", "1.2.3", "app") == ["v2", "v3"]
    assert ids("semver_gt", "1.9.9", "app") == ["v2", "v3"]  # numeric parts, not text order
    assert ids("semver_gte", "1.10", "app") == ["v2", "v3"]
    assert ids("semver_lt", "2.0.0", "app") == ["v1", "v2"]
    assert ids("semver_lte", "1.2.3", "app") == ["v1"]
    assert ids("semver_tilde", "1.2.0", "app") == ["v1"]
    assert ids("semver_caret", "1.2.0", "app") == ["v1", "v2"]
    assert ids("semver_caret", "^0.2.0", "app") == []
    assert ids("semver_wildcard", "1.*", "app") == ["v1", "v2"]
    assert ids("semver_wildcard", "1.10.*", "app") == ["v2"]
    assert ids("is_cleaned_path_exact", "/pricing", "path") == ["v1"]
    unknown = hedgerow.get(
        hedgerow.api("persons"),
        params={"properties": json.dumps([{"key": "age", "value": 1, "operator": "nope", "type": "person"}])},
    )
    assert_error(unknown, 400, type="validation_error", code="invalid_input", attr="properties")
