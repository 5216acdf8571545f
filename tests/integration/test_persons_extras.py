"""The persons API beyond list and retrieve (ingestion-persons.md §2.8 "also present"): property
values, a person's cohorts, activity, and splitting a merged person."""

from __future__ import annotations

from typing import Any

from hedgerow.domain.persons.identity import person_uuid
from hedgerow.store.base import CompiledQuery
from tests.integration.test_cohorts_persons import calculate
from tests.integration.test_cohorts_static import static_cohort
from tests.integration.test_persons_merges import by_distinct_id, persons, send
from tests.support import HedgerowClient, assert_error


def _values(hedgerow: HedgerowClient, **params: str) -> Any:
    response = hedgerow.get(hedgerow.api("persons") + "values/", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_property_values_most_common_first(hedgerow: HedgerowClient) -> None:
    send(
        hedgerow,
        {"event": "a", "distinct_id": "a1", "$set": {"plan": "pro", "seats": 5, "beta": True}},
        {"event": "a", "distinct_id": "a2", "$set": {"plan": "pro", "seats": 5, "beta": False}},
        {"event": "a", "distinct_id": "a3", "$set": {"plan": "Free", "seats": 12}},
        {"event": "a", "distinct_id": "a4", "$set": {"plan": None, "tags": ["x", "y"]}},
        {"event": "a", "distinct_id": "a5"},
    )
    body = _values(hedgerow, key="plan")
    assert body == {
        "results": [{"name": "pro", "count": 2}, {"name": "Free", "count": 1}],
        "refreshing": False,
    }
    assert _values(hedgerow, key="plan", value="FR")["results"] == [{"name": "Free", "count": 1}]
    assert _values(hedgerow, key="seats")["results"] == [
        {"name": "5", "count": 2},
        {"name": "12", "count": 1},
    ]
    beta = _values(hedgerow, key="beta")["results"]
    assert sorted(v["name"] for v in beta) == ["false", "true"]
    assert _values(hedgerow, key="tags")["results"] == [{"name": '["x", "y"]', "count": 1}]
    assert _values(hedgerow, key="missing")["results"] == []
    assert _values(hedgerow)["results"] == []
    reader = hedgerow.issue_key(["cohort:read"])
    denied = hedgerow.get(hedgerow.api("persons") + "values/", params={"key": "plan"}, key=reader)
    assert_error(
        denied, 403, type="authentication_error", code="permission_denied",
        detail="API key missing required scope 'person:read'",
    )  # fmt: skip


def test_the_cohorts_a_person_is_in(hedgerow: HedgerowClient) -> None:
    send(hedgerow, {"event": "a", "distinct_id": "ann"}, {"event": "a", "distinct_id": "bob"})
    ann, bob = by_distinct_id(hedgerow, "ann")["uuid"], by_distinct_id(hedgerow, "bob")["uuid"]
    static = static_cohort(hedgerow, _create_static_person_ids=[ann])
    dynamic = hedgerow.post(
        hedgerow.api("cohorts"), json={"name": "d", "groups": [{"properties": {"a": "b"}}]}
    ).json()
    gone = hedgerow.post(
        hedgerow.api("cohorts"), json={"name": "g", "groups": [{"properties": {"a": "b"}}]}
    ).json()
    url = hedgerow.api("persons") + "cohorts/"

    def cohort_ids(person: str) -> list[int]:
        response = hedgerow.get(url, params={"person_id": person})
        assert response.status_code == 200, response.text
        assert list(response.json()) == ["results"]
        return [c["id"] for c in response.json()["results"]]

    assert cohort_ids(ann) == [static["id"]]
    assert cohort_ids(bob) == []
    calculate(hedgerow, dynamic["id"], 1, [ann, bob])
    calculate(hedgerow, gone["id"], 1, [ann])
    assert (
        hedgerow.patch(hedgerow.api("cohorts") + f"{gone['id']}/", json={"deleted": True}).status_code == 200
    )
    assert cohort_ids(ann) == [static["id"], dynamic["id"]]
    # Only the calculation the cohort last completed counts.
    calculate(hedgerow, dynamic["id"], 2, [bob])
    assert cohort_ids(ann) == [static["id"]]
    [shown] = hedgerow.get(url, params={"person_id": bob}).json()["results"]
    assert (shown["id"], shown["name"], shown["is_static"]) == (dynamic["id"], "d", False)
    # The primary key works as well as the UUID.
    pk = hedgerow.get(hedgerow.api("persons") + f"{ann}/").json()["id"]
    assert cohort_ids(str(pk)) == [static["id"]]

    missing = hedgerow.get(url, params={"person_id": "00000000-0000-0000-0000-000000000000"})
    assert_error(missing, 404, type="invalid_request", code="not_found")
    no_id = hedgerow.get(url)
    assert_error(no_id, 400, type="validation_error", code="required", attr="person_id")
    reader = hedgerow.issue_key(["person:read"])
    denied = hedgerow.get(url, params={"person_id": ann}, key=reader)
    assert_error(
        denied, 403, type="authentication_error", code="permission_denied",
        detail="API key missing required scope 'cohort:read'",
    )  # fmt: skip


def test_split_gives_each_distinct_id_its_own_person(hedgerow: HedgerowClient) -> None:
    send(
        hedgerow,
        {"event": "a", "distinct_id": "anon-1", "$set": {"plan": "free"}},
        {"event": "a", "distinct_id": "anon-2"},
        {"event": "$identify", "distinct_id": "user", "properties": {"$anon_distinct_id": "anon-1"}},
        {"event": "$identify", "distinct_id": "user", "properties": {"$anon_distinct_id": "anon-2"}},
    )
    merged = by_distinct_id(hedgerow, "user")
    assert sorted(merged["distinct_ids"]) == ["anon-1", "anon-2", "user"]
    hedgerow.app.state.replicator.drain()
    response = hedgerow.post(
        hedgerow.api("persons") + f"{merged['uuid']}/split/", json={"main_distinct_id": "user"}
    )
    assert response.status_code == 201 and response.json() == {"success": True}

    kept = by_distinct_id(hedgerow, "user")
    assert (kept["uuid"], kept["distinct_ids"]) == (merged["uuid"], ["user"])
    assert kept["properties"] == merged["properties"]
    for distinct_id in ("anon-1", "anon-2"):
        split_off = by_distinct_id(hedgerow, distinct_id)
        assert split_off["distinct_ids"] == [distinct_id]
        assert split_off["properties"] == {} and split_off["is_identified"] is False
    # anon-1 created the merged person, whose UUID it would have had; it gets a fresh one.
    assert merged["uuid"] == person_uuid(hedgerow.project_id, "anon-1")
    fresh = by_distinct_id(hedgerow, "anon-1")["uuid"]
    assert fresh != merged["uuid"]
    assert by_distinct_id(hedgerow, "anon-2")["uuid"] == person_uuid(hedgerow.project_id, "anon-2")
    assert len(persons(hedgerow)) == 3
    # The analytics replica agrees: three live persons, each id owned by its own.
    hedgerow.app.state.replicator.drain()
    store = hedgerow.app.state.store
    owners = dict(
        store.query(CompiledQuery("SELECT distinct_id, person_id FROM person_distinct_ids_latest", {}))
    )
    assert {d: str(p) for d, p in owners.items()} == {
        "user": merged["uuid"],
        "anon-1": fresh,
        "anon-2": person_uuid(hedgerow.project_id, "anon-2"),
    }
    live = store.query(CompiledQuery("SELECT count(*) FROM persons_latest", {}))
    assert live[0][0] == 3
    # Later events for a split-off id land on its own person.
    send(hedgerow, {"event": "b", "distinct_id": "anon-2", "$set": {"seen": True}})
    assert by_distinct_id(hedgerow, "anon-2")["properties"] == {"seen": True}


def test_split_chosen_ids_or_all_but_the_first(hedgerow: HedgerowClient) -> None:
    send(
        hedgerow,
        {"event": "$identify", "distinct_id": "u", "properties": {"$anon_distinct_id": "x1"}},
        {"event": "$create_alias", "distinct_id": "u", "properties": {"alias": "x2"}},
        {"event": "$create_alias", "distinct_id": "u", "properties": {"alias": "x3"}},
    )
    person = by_distinct_id(hedgerow, "u")
    url = hedgerow.api("persons") + f"{person['uuid']}/split/"
    bad = hedgerow.post(url, json={"distinct_ids_to_split": ["nope"]})
    assert_error(bad, 400, type="validation_error", code="invalid_input", attr="distinct_ids_to_split")
    bad = hedgerow.post(url, json={"distinct_ids_to_split": []})
    assert_error(bad, 400, type="validation_error", code="invalid_input", attr="distinct_ids_to_split")
    both = hedgerow.post(url, json={"distinct_ids_to_split": ["x3"], "main_distinct_id": "u"})
    assert both.status_code == 400
    assert hedgerow.post(url, json={"distinct_ids_to_split": ["x3"]}).status_code == 201
    assert sorted(by_distinct_id(hedgerow, "u")["distinct_ids"]) == ["u", "x1", "x2"]
    assert by_distinct_id(hedgerow, "x3")["distinct_ids"] == ["x3"]
    first = by_distinct_id(hedgerow, "u")["distinct_ids"][0]
    assert hedgerow.post(url, json={}).status_code == 201
    assert by_distinct_id(hedgerow, first)["uuid"] == person["uuid"]
    assert len(persons(hedgerow)) == 4
    missing = hedgerow.post(hedgerow.api("persons") + "00000000-0000-0000-0000-000000000000/split/", json={})
    assert_error(missing, 404, type="invalid_request", code="not_found")
    reader = hedgerow.issue_key(["person:read"])
    denied = hedgerow.post(url, json={}, key=reader)
    assert_error(
        denied, 403, type="authentication_error", code="permission_denied",
        detail="API key missing required scope 'person:write'",
    )  # fmt: skip


def test_activity_records_split_delete_property_and_delete(hedgerow: HedgerowClient) -> None:
    send(
        hedgerow,
        {"event": "a", "distinct_id": "ann", "$set": {"age": 3}},
        {"event": "$identify", "distinct_id": "ann", "properties": {"$anon_distinct_id": "anon"}},
        {"event": "a", "distinct_id": "bob"},
    )
    ann, bob = by_distinct_id(hedgerow, "ann"), by_distinct_id(hedgerow, "bob")
    base = hedgerow.api("persons")
    empty = hedgerow.get(base + "activity/").json()
    assert empty == {"results": [], "next": None, "previous": None, "total_count": 0}
    assert hedgerow.post(base + f"{ann['uuid']}/split/", json={"main_distinct_id": "ann"}).status_code == 201
    assert hedgerow.post(base + f"{ann['uuid']}/delete_property/", json={"$unset": "age"}).status_code == 201
    assert hedgerow.delete(base + f"{bob['uuid']}/").status_code == 202

    listed = hedgerow.get(base + "activity/").json()
    assert [e["activity"] for e in listed["results"]] == ["deleted", "delete_property", "split_person"]
    assert listed["total_count"] == 3
    split = listed["results"][2]
    pk = hedgerow.get(base + f"{ann['uuid']}/").json()["id"]
    assert (split["scope"], split["item_id"], split["detail"]["name"]) == ("Person", str(pk), ann["uuid"])
    [change] = split["detail"]["changes"]
    assert change["action"] == "split" and sorted(change["after"]["distinct_ids"]) == ["ann", "anon"]
    assert split["user"]["email"] is not None

    own = hedgerow.get(base + f"{ann['uuid']}/activity/").json()
    assert [e["activity"] for e in own["results"]] == ["delete_property", "split_person"]
    assert hedgerow.get(base + f"{pk}/activity/").json() == own
    paged = hedgerow.get(base + "activity/", params={"limit": 1}).json()
    assert len(paged["results"]) == 1 and paged["next"] is not None
    missing = hedgerow.get(base + "00000000-0000-0000-0000-000000000000/activity/")
    assert_error(missing, 404, type="invalid_request", code="not_found")
    # The activity routes ask for the activity log scope, as PostHog's do.
    reader = hedgerow.issue_key(["activity_log:read"])
    assert hedgerow.get(base + "activity/", key=reader).status_code == 200
    other = hedgerow.issue_key(["person:read"])
    assert hedgerow.get(base + "activity/", key=other).status_code == 403
