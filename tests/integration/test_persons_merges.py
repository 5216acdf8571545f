"""Persons as ingestion leaves them: creation, update order, $identify / $create_alias merges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from hedgerow.db.session import transaction
from hedgerow.domain.cohorts.models import Cohort
from hedgerow.domain.cohorts.static import replicate_static_members
from hedgerow.domain.persons.identity import person_uuid
from hedgerow.domain.persons.models import Person, PersonDistinctId
from hedgerow.settings import Settings
from hedgerow.store.base import CompiledQuery
from hedgerow.worker.jobs import JobContext
from hedgerow.worker.runner import Worker
from hedgerow.worker.scheduler import Scheduler
from tests.integration.test_capture_encodings import stored_events
from tests.support import HedgerowClient


def send(hedgerow: HedgerowClient, *events: dict[str, Any]) -> None:
    body = {"api_key": hedgerow.init.project_api_token, "batch": list(events)}
    response = hedgerow.http.post("/batch/", json=body)
    assert response.status_code == 200, response.text


def persons(hedgerow: HedgerowClient) -> list[dict[str, Any]]:
    response = hedgerow.get(hedgerow.api("persons"))
    assert response.status_code == 200, response.text
    return sorted(response.json()["results"], key=lambda p: p["created_at"])


def by_distinct_id(hedgerow: HedgerowClient, distinct_id: str) -> dict[str, Any]:
    response = hedgerow.get(hedgerow.api("persons"), params={"distinct_id": distinct_id})
    [person] = response.json()["results"]
    return person


def test_first_event_creates_a_person_with_uuid5(hedgerow: HedgerowClient) -> None:
    send(
        hedgerow,
        {
            "event": "$pageview",
            "distinct_id": "anon-1",
            "uuid": "0190a6f4-0000-7000-8000-000000000001",
            "timestamp": "2026-05-01T10:00:00Z",
            "properties": {"$browser": "Firefox", "$set_once": {"plan": "free"}, "$set": {"plan": "trial"}},
        },
    )
    [person] = persons(hedgerow)
    assert person["id"] == person["uuid"] == person_uuid(hedgerow.project_id, "anon-1")
    assert person["distinct_ids"] == ["anon-1"]
    assert person["is_identified"] is False
    assert person["created_at"] == "2026-05-01T10:00:00Z"
    assert person["properties"] == {
        "plan": "trial",
        "$browser": "Firefox",
        "$initial_browser": "Firefox",
        "$creator_event_uuid": "0190a6f4-0000-7000-8000-000000000001",
    }


def test_last_seen_at_is_the_latest_event_hour(hedgerow: HedgerowClient) -> None:
    send(hedgerow, {"event": "a", "distinct_id": "s", "timestamp": "2026-05-01T10:42:17Z"})
    assert by_distinct_id(hedgerow, "s")["last_seen_at"] == "2026-05-01T10:00:00Z"
    send(
        hedgerow,
        {"event": "b", "distinct_id": "s", "timestamp": "2026-05-01T13:05:00Z"},
        # Older events, and events asking not to, leave it as it is.
        {"event": "c", "distinct_id": "s", "timestamp": "2026-05-01T09:00:00Z"},
        {
            "event": "d",
            "distinct_id": "s",
            "timestamp": "2026-05-02T00:00:00Z",
            "properties": {"$update_person_last_seen_at": False},
        },
    )
    person = by_distinct_id(hedgerow, "s")
    assert person["last_seen_at"] == "2026-05-01T13:00:00Z"
    detail = hedgerow.get(hedgerow.api("persons") + person["uuid"] + "/").json()
    assert detail["last_seen_at"] == "2026-05-01T13:00:00Z"
    # A merged person keeps the later of the two.
    send(hedgerow, {"event": "a", "distinct_id": "t", "timestamp": "2026-05-03T08:30:00Z"})
    send(
        hedgerow,
        {
            "event": "$identify",
            "distinct_id": "s",
            "timestamp": "2026-05-01T12:00:00Z",
            "properties": {"$anon_distinct_id": "t"},
        },
    )
    assert by_distinct_id(hedgerow, "s")["last_seen_at"] == "2026-05-03T08:00:00Z"
    # A personless event creates nothing and sees no one.
    send(hedgerow, {"event": "x", "distinct_id": "ghost", "properties": {"$process_person_profile": False}})
    assert hedgerow.get(hedgerow.api("persons"), params={"distinct_id": "ghost"}).json()["results"] == []


def test_update_order_across_events(hedgerow: HedgerowClient) -> None:
    send(
        hedgerow,
        {"event": "a", "distinct_id": "u", "$set": {"x": 1, "y": 1}},
        {"event": "b", "distinct_id": "u", "$set_once": {"x": 2, "z": 2}},
        {"event": "c", "distinct_id": "u", "$set": {"y": 3, "w": 3}, "properties": {"$unset": ["y", "w"]}},
    )
    props = by_distinct_id(hedgerow, "u")["properties"]
    assert {k: v for k, v in props.items() if not k.startswith("$")} == {"x": 1, "z": 2, "w": 3}


def test_identify_merges_anonymous_into_identified(hedgerow: HedgerowClient) -> None:
    send(hedgerow, {"event": "$pageview", "distinct_id": "anon", "$set": {"seen": "anon", "both": "anon"}})
    send(hedgerow, {"event": "login", "distinct_id": "user@example.com", "$set": {"both": "user", "mail": 1}})
    send(
        hedgerow,
        {
            "event": "$identify",
            "distinct_id": "user@example.com",
            "properties": {"$anon_distinct_id": "anon"},
            "$set": {"email": "user@example.com"},
        },
    )
    [person] = persons(hedgerow)
    assert person["uuid"] == person_uuid(hedgerow.project_id, "user@example.com")
    assert sorted(person["distinct_ids"]) == ["anon", "user@example.com"]
    assert person["is_identified"] is True
    props = {k: v for k, v in person["properties"].items() if not k.startswith("$")}
    assert props == {"seen": "anon", "both": "user", "mail": 1, "email": "user@example.com"}
    assert person["name"] == "user@example.com"
    # Events keep the person they had when ingested; both distinct ids now resolve to one person.
    owners = {e["distinct_id"]: e["person_id"] for e in stored_events(hedgerow)}
    assert owners["anon"] == person_uuid(hedgerow.project_id, "anon")


def test_identify_when_neither_id_has_a_person(hedgerow: HedgerowClient) -> None:
    send(
        hedgerow, {"event": "$identify", "distinct_id": "new-user", "properties": {"$anon_distinct_id": "a1"}}
    )
    [person] = persons(hedgerow)
    assert sorted(person["distinct_ids"]) == ["a1", "new-user"]
    assert person["is_identified"] is True
    assert person["uuid"] == person_uuid(hedgerow.project_id, "new-user")


def test_identify_adds_the_anonymous_id_to_an_existing_person(hedgerow: HedgerowClient) -> None:
    send(hedgerow, {"event": "x", "distinct_id": "known"})
    send(
        hedgerow, {"event": "$identify", "distinct_id": "known", "properties": {"$anon_distinct_id": "fresh"}}
    )
    [person] = persons(hedgerow)
    assert sorted(person["distinct_ids"]) == ["fresh", "known"] and person["is_identified"] is True


def test_alias_merges_alias_into_the_event_distinct_id(hedgerow: HedgerowClient) -> None:
    send(hedgerow, {"event": "x", "distinct_id": "previous", "$set": {"p": 1}})
    send(hedgerow, {"event": "y", "distinct_id": "new-id", "$set": {"n": 1}})
    send(
        hedgerow,
        {"event": "$create_alias", "distinct_id": "previous", "properties": {"alias": "new-id"}},
    )
    [person] = persons(hedgerow)
    assert person["uuid"] == person_uuid(hedgerow.project_id, "previous")
    assert sorted(person["distinct_ids"]) == ["new-id", "previous"]


def test_already_identified_person_is_not_merged(hedgerow: HedgerowClient) -> None:
    send(
        hedgerow,
        {"event": "$identify", "distinct_id": "alice", "properties": {"$anon_distinct_id": "a-anon"}},
    )
    send(
        hedgerow, {"event": "$identify", "distinct_id": "bob", "properties": {"$anon_distinct_id": "b-anon"}}
    )
    send(hedgerow, {"event": "$identify", "distinct_id": "bob", "properties": {"$anon_distinct_id": "alice"}})
    assert len(persons(hedgerow)) == 2
    send(hedgerow, {"event": "$merge_dangerously", "distinct_id": "bob", "properties": {"alias": "alice"}})
    [person] = persons(hedgerow)
    assert sorted(person["distinct_ids"]) == ["a-anon", "alice", "b-anon", "bob"]


def test_refused_merge_still_identifies_the_target(hedgerow: HedgerowClient) -> None:
    send(
        hedgerow,
        {"event": "$identify", "distinct_id": "alice", "properties": {"$anon_distinct_id": "a-anon"}},
    )
    send(hedgerow, {"event": "x", "distinct_id": "carol"})
    # alice's person is identified already: it is not merged, but the event still marks carol's
    # person identified, as every merge case does.
    send(
        hedgerow, {"event": "$identify", "distinct_id": "carol", "properties": {"$anon_distinct_id": "alice"}}
    )
    assert len(persons(hedgerow)) == 2
    assert by_distinct_id(hedgerow, "carol")["is_identified"] is True
    assert by_distinct_id(hedgerow, "carol")["distinct_ids"] == ["carol"]


def test_a_merge_hands_static_cohort_membership_to_the_merged_person(hedgerow: HedgerowClient) -> None:
    send(hedgerow, *({"event": "x", "distinct_id": d} for d in ("anon", "user", "anon2", "user2")))
    uuids = {d: by_distinct_id(hedgerow, d)["uuid"] for d in ("anon", "user", "anon2", "user2")}
    url = hedgerow.api("cohorts")
    only_anon = hedgerow.post(
        url, json={"name": "a", "is_static": True, "_create_static_person_ids": [uuids["anon"]]}
    ).json()
    both = hedgerow.post(
        url,
        json={"name": "b", "is_static": True, "_create_static_person_ids": [uuids["anon2"], uuids["user2"]]},
    ).json()
    send(
        hedgerow,
        {"event": "$identify", "distinct_id": "user", "properties": {"$anon_distinct_id": "anon"}},
        {"event": "$identify", "distinct_id": "user2", "properties": {"$anon_distinct_id": "anon2"}},
    )
    for cohort, member in ((only_anon, "user"), (both, "user2")):
        listed = hedgerow.get(f"{url}{cohort['id']}/persons/").json()["results"]
        assert [p["uuid"] for p in listed] == [uuids[member]]
        assert hedgerow.get(f"{url}{cohort['id']}/").json()["count"] == 1
        replicate_static_members(hedgerow.app.state.sessionmaker, hedgerow.app.state.store)
        rows = hedgerow.app.state.store.query(
            CompiledQuery(
                "SELECT person_id FROM static_cohort_people_latest WHERE cohort_id = $c", {"c": cohort["id"]}
            )
        )
        assert [str(r[0]) for r in rows] == [uuids[member]]


def test_a_recalculation_after_a_merge_sees_the_moved_static_membership(hedgerow: HedgerowClient) -> None:
    send(hedgerow, {"event": "x", "distinct_id": "anon"}, {"event": "x", "distinct_id": "user"})
    anon, user = (by_distinct_id(hedgerow, d)["uuid"] for d in ("anon", "user"))
    url = hedgerow.api("cohorts")
    static = hedgerow.post(url, json={"name": "s", "is_static": True, "_create_static_person_ids": [anon]})
    leaf = {"key": "id", "type": "cohort", "value": static.json()["id"]}
    outer = hedgerow.post(
        url, json={"name": "outer", "filters": {"properties": {"type": "AND", "values": [leaf]}}}
    ).json()
    assert outer.get("is_calculating") is True, outer
    replicator = hedgerow.app.state.replicator
    ctx = JobContext(
        hedgerow.app.state.sessionmaker, hedgerow.app.state.store, Settings(), catch_up=replicator.drain
    )
    assert Worker(ctx).run_one() is True
    store = hedgerow.app.state.store
    assert store.cohort_member_ids(hedgerow.project_id, outer["id"], 1) == [anon]
    send(hedgerow, {"event": "$identify", "distinct_id": "user", "properties": {"$anon_distinct_id": "anon"}})
    with transaction(hedgerow.app.state.sessionmaker) as session:  # due for its periodic recalculation
        session.execute(update(Cohort).values(last_calculation=datetime.now(UTC) - timedelta(days=2)))
    assert Scheduler(ctx, {}).run_once() == [outer["id"]]
    assert Worker(ctx).run_one() is True
    assert store.cohort_member_ids(hedgerow.project_id, outer["id"], 2) == [user]


def test_illegal_ids_are_never_merged(hedgerow: HedgerowClient) -> None:
    send(hedgerow, {"event": "x", "distinct_id": "real-user"})
    send(
        hedgerow,
        {"event": "$identify", "distinct_id": "real-user", "properties": {"$anon_distinct_id": "null"}},
    )
    send(hedgerow, {"event": "$create_alias", "distinct_id": "real-user", "properties": {"alias": '"Guest"'}})
    [person] = persons(hedgerow)
    assert person["distinct_ids"] == ["real-user"] and person["is_identified"] is False


def test_identify_without_anon_id_does_not_identify(hedgerow: HedgerowClient) -> None:
    send(hedgerow, {"event": "$identify", "distinct_id": "server-side", "$set": {"a": 1}})
    person = by_distinct_id(hedgerow, "server-side")
    assert person["is_identified"] is False and person["properties"]["a"] == 1


def test_personless_events_create_no_person(hedgerow: HedgerowClient) -> None:
    send(
        hedgerow,
        {
            "event": "x",
            "distinct_id": "ghost",
            "properties": {"$process_person_profile": False, "$set": {"a": 1}},
        },
    )
    assert persons(hedgerow) == []
    [event] = stored_events(hedgerow)
    assert event["person_id"] == person_uuid(hedgerow.project_id, "ghost")


def test_merge_within_one_batch_and_replica_agrees(hedgerow: HedgerowClient) -> None:
    send(
        hedgerow,
        {"event": "a", "distinct_id": "anon", "$set": {"k": "anon"}},
        {"event": "b", "distinct_id": "user", "$set": {"k": "user"}},
        {"event": "$identify", "distinct_id": "user", "properties": {"$anon_distinct_id": "anon"}},
    )
    [person] = persons(hedgerow)
    hedgerow.app.state.replicator.drain()
    rows = hedgerow.app.state.store.query(
        CompiledQuery(
            "SELECT distinct_id, person_id FROM person_distinct_ids_latest ORDER BY distinct_id", {}
        )
    )
    assert [(d, str(p)) for d, p in rows] == [("anon", person["uuid"]), ("user", person["uuid"])]
    latest = hedgerow.app.state.store.query(CompiledQuery("SELECT id FROM persons_latest", {}))
    assert [str(r[0]) for r in latest] == [person["uuid"]]


HOUR = "2026-05-01T10:20:00Z"


def _version(hedgerow: HedgerowClient, distinct_id: str) -> int:
    hedgerow.app.state.replicator.drain()  # persons are applied after the 200, in groups
    with transaction(hedgerow.app.state.sessionmaker) as session:
        return session.scalars(
            select(Person.version)
            .join(PersonDistinctId, PersonDistinctId.person_id == Person.id)
            .where(PersonDistinctId.distinct_id == distinct_id)
        ).one()


def test_noisy_keys_alone_do_not_rewrite_the_person(hedgerow: HedgerowClient) -> None:
    # All in one hour: a later hour would move `last_seen_at`, which is a real change.
    send(
        hedgerow,
        {
            "event": "$pageview",
            "distinct_id": "n",
            "timestamp": HOUR,
            "properties": {"$current_url": "https://a/1"},
        },
    )
    first = _version(hedgerow, "n")
    send(
        hedgerow,
        {
            "event": "$pageview",
            "distinct_id": "n",
            "timestamp": HOUR,
            "properties": {"$current_url": "https://a/2"},
        },
    )
    assert _version(hedgerow, "n") == first
    send(
        hedgerow,
        {
            "event": "$pageview",
            "distinct_id": "n",
            "timestamp": HOUR,
            "properties": {"$current_url": "https://a/3", "utm_source": "x"},
        },
    )
    props = by_distinct_id(hedgerow, "n")["properties"]
    assert _version(hedgerow, "n") == first + 1
    assert props["$current_url"] == "https://a/3" and props["$initial_current_url"] == "https://a/1"


def test_a_write_by_another_process_is_seen(hedgerow: HedgerowClient) -> None:
    send(hedgerow, {"event": "x", "distinct_id": "shared", "$set": {"a": 1}})
    hedgerow.app.state.replicator.drain()
    # Another server process (scale-out) changes the row and bumps its version.
    with transaction(hedgerow.app.state.sessionmaker) as session:
        person = session.scalars(select(Person)).one()
        person.properties = {"a": 1, "b": "elsewhere"}
        person.version += 1
    send(hedgerow, {"event": "y", "distinct_id": "shared", "$set": {"c": 3}})
    props = by_distinct_id(hedgerow, "shared")["properties"]
    assert (props["a"], props["b"], props["c"]) == (1, "elsewhere", 3)
