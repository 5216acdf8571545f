"""GET cohorts/:id/persons/ (cohorts.md §4.9): static and dynamic members, JSON and CSV."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from sqlalchemy import select

from hedgerow.db.session import transaction
from hedgerow.domain.cohorts.models import Cohort
from hedgerow.domain.persons.models import Person
from hedgerow.store.base import CompiledQuery, PersonVersion
from tests.integration.test_cohorts_static import add_person, static_cohort
from tests.support import HedgerowClient, assert_error


def persons_url(hedgerow: HedgerowClient, cohort_id: int) -> str:
    return f"{hedgerow.api('cohorts')}{cohort_id}/persons/"


def test_static_members_as_json(hedgerow: HedgerowClient) -> None:
    older = add_person(
        hedgerow,
        properties={"email": "ann@acme.com", "plan": "pro"},
        distinct_ids=["ann", *[str(uuid.uuid4()) for _ in range(12)]],
        age=1,
    )
    newer = add_person(hedgerow, properties={}, distinct_ids=[str(uuid.uuid4()), "bob"], age=2)
    cohort = static_cohort(hedgerow, _create_static_person_ids=[older, newer])
    body = hedgerow.get(persons_url(hedgerow, cohort["id"])).json()
    assert list(body) == ["results", "next", "previous"]
    assert (body["next"], body["previous"]) == (None, None)
    first, second = body["results"]
    assert list(first) == [
        "id",
        "uuid",
        "type",
        "name",
        "distinct_ids",
        "properties",
        "created_at",
        "last_seen_at",
        "is_identified",
        "matched_recordings",
        "value_at_data_point",
    ]
    assert first["id"] == first["uuid"] == newer
    assert (first["name"], first["distinct_ids"][0], first["type"]) == ("bob", "bob", "person")
    assert second["id"] == older and second["name"] == "ann@acme.com"
    assert len(second["distinct_ids"]) == 10 and second["distinct_ids"][0] == "ann"
    assert second["created_at"] == "2024-01-01T00:01:00Z"
    assert (second["matched_recordings"], second["value_at_data_point"], second["is_identified"]) == (
        [],
        None,
        True,
    )

    searched = hedgerow.get(persons_url(hedgerow, cohort["id"]) + "?search=ACME").json()["results"]
    assert [p["id"] for p in searched] == [older]
    filtered = hedgerow.get(
        persons_url(hedgerow, cohort["id"]) + '?properties=[{"key":"plan","value":"pro"}]'
    ).json()["results"]
    assert [p["id"] for p in filtered] == [older]


def test_pagination_links_follow_posthog(hedgerow: HedgerowClient) -> None:
    people = [add_person(hedgerow, age=i) for i in range(5)]
    cohort = static_cohort(hedgerow, _create_static_person_ids=people)
    url = persons_url(hedgerow, cohort["id"])
    first = hedgerow.get(url + "?limit=2").json()
    assert [p["id"] for p in first["results"]] == people[::-1][:2]
    assert first["next"] == f"http://testserver{url}?limit=2&offset=2" and first["previous"] is None
    second = hedgerow.get(url + "?limit=2&offset=2").json()
    assert second["next"] == f"http://testserver{url}?limit=2&offset=4"
    # PostHog's quirk: on page 2 `previous` repeats the current URL.
    assert second["previous"] == f"http://testserver{url}?limit=2&offset=2"
    third = hedgerow.get(url + "?limit=2&offset=4").json()
    assert [p["id"] for p in third["results"]] == [people[0]]
    assert third["next"] is None and third["previous"] == f"http://testserver{url}?limit=2&offset=2"


def test_csv_export(hedgerow: HedgerowClient) -> None:
    ann = add_person(
        hedgerow, properties={"email": "ann@acme.com", "plan": "pro"}, distinct_ids=["ann", "ann-2"], age=1
    )
    cohort = static_cohort(hedgerow, _create_static_person_ids=[ann])
    response = hedgerow.get(persons_url(hedgerow, cohort["id"]) + "?format=csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows == [
        [
            "id",
            "email",
            "name",
            "created_at",
            "properties.plan",
            "distinct_ids.0",
            "distinct_ids.1",
            "last_seen_at",
        ],
        [ann, "ann@acme.com", "ann@acme.com", "2024-01-01T00:01:00Z", "pro", "ann", "ann-2", ""],
    ]
    assert_error(
        hedgerow.get(persons_url(hedgerow, cohort["id"]) + "?format=xml"),
        404,
        type="invalid_request",
        code="not_found",
    )


def test_persons_needs_person_read_too(hedgerow: HedgerowClient) -> None:
    cohort = static_cohort(hedgerow)
    url = persons_url(hedgerow, cohort["id"])
    assert_error(
        hedgerow.get(url, key=hedgerow.issue_key(["cohort:read"])),
        403,
        type="authentication_error",
        code="permission_denied",
        detail="API key missing required scope 'person:read'",
    )
    assert_error(
        hedgerow.get(url, key=hedgerow.issue_key(["person:read"])),
        403,
        type="authentication_error",
        code="permission_denied",
        detail="API key missing required scope 'cohort:read'",
    )
    assert hedgerow.get(url, key=hedgerow.issue_key(["cohort:read", "person:read"])).status_code == 200
    assert_error(
        hedgerow.get(persons_url(hedgerow, 424242)),
        404,
        type="invalid_request",
        code="not_found",
        detail="Not found.",
    )


def calculate(hedgerow: HedgerowClient, cohort_id: int, version: int, person_ids: list[str]) -> None:
    """What the worker does after a run: members for `version` in the store, then the version recorded."""
    values = ", ".join(f"('{p}'::UUID)" for p in person_ids)
    hedgerow.app.state.store.replace_cohort_members(
        hedgerow.project_id,
        cohort_id,
        version,
        CompiledQuery(f"SELECT * FROM (VALUES {values}) AS t(person_id)", {}),
    )
    with transaction(hedgerow.app.state.sessionmaker) as session:
        cohort = session.get_one(Cohort, cohort_id)
        cohort.version, cohort.count, cohort.is_calculating = version, len(person_ids), False


def test_dynamic_members_come_from_the_last_completed_calculation(hedgerow: HedgerowClient) -> None:
    people = [add_person(hedgerow, distinct_ids=[f"user-{i}"], age=i) for i in range(3)]
    response = hedgerow.post(
        hedgerow.api("cohorts"), json={"name": "d", "groups": [{"properties": {"a": "b"}}]}
    )
    cohort: dict[str, Any] = response.json()
    url = persons_url(hedgerow, cohort["id"])
    assert hedgerow.get(url).json() == {"results": [], "next": None, "previous": None}
    calculate(hedgerow, cohort["id"], 1, people[:2])
    assert {p["id"] for p in hedgerow.get(url).json()["results"]} == set(people[:2])
    calculate(hedgerow, cohort["id"], 2, people[1:])
    body = hedgerow.get(url + "?limit=1").json()
    assert len(body["results"]) == 1 and body["next"] is not None
    assert {p["id"] for p in hedgerow.get(url).json()["results"]} == set(people[1:])
    assert [p["id"] for p in hedgerow.get(url + "?search=user-2").json()["results"]] == [people[2]]


def test_links_only_set_the_offset_in_the_url_as_given(hedgerow: HedgerowClient) -> None:
    """PostHog rewrites (or appends) `offset=` in the request's own URL and adds no `limit`."""
    people = [add_person(hedgerow, age=i) for i in range(101)]
    cohort = static_cohort(hedgerow, _create_static_person_ids=people)
    url = persons_url(hedgerow, cohort["id"])
    first = hedgerow.get(url).json()
    assert len(first["results"]) == 100
    assert (first["next"], first["previous"]) == (f"http://testserver{url}?offset=100", None)
    searched = hedgerow.get(url + "?offset=100&search=").json()
    assert searched["next"] is None
    assert searched["previous"] == f"http://testserver{url}?offset=100&search="


def test_csv_export_shaping_without_the_csv_renderer(hedgerow: HedgerowClient) -> None:
    """`is_csv_export` shapes the rows as the CSV export does, whatever the renderer."""
    ann = add_person(
        hedgerow, properties={"email": "ann@acme.com", "plan": "pro"}, distinct_ids=["ann"], age=1
    )
    bob = add_person(hedgerow, properties={"plan": "free"}, distinct_ids=["bob"], age=2)
    cohort = static_cohort(hedgerow, _create_static_person_ids=[ann, bob])
    body = hedgerow.get(persons_url(hedgerow, cohort["id"]) + "?is_csv_export=1").json()
    assert list(body) == ["results", "next", "previous"]
    first, second = body["results"]
    keys = ["id", "email", "name", "created_at", "properties", "distinct_ids", "last_seen_at"]
    assert list(first) == keys and list(second) == keys
    assert (first["id"], first["email"], first["properties"]) == (bob, None, {"plan": "free"})
    assert (second["id"], second["email"], second["properties"]) == (ann, "ann@acme.com", {"plan": "pro"})
    assert second["distinct_ids"] == ["ann"]


def test_dynamic_members_are_listed_newest_person_first(hedgerow: HedgerowClient) -> None:
    people = [add_person(hedgerow, distinct_ids=[f"user-{i}"], age=i) for i in range(3)]
    with transaction(hedgerow.app.state.sessionmaker) as session:
        rows = session.scalars(select(Person).where(Person.uuid.in_(people))).all()
        hedgerow.app.state.store.append_person_versions(
            [
                PersonVersion(
                    project_id=p.project_id,
                    id=p.uuid,
                    properties="{}",
                    is_identified=True,
                    created_at=p.created_at,
                    version=1,
                )
                for p in rows
            ]
        )
    cohort = hedgerow.post(
        hedgerow.api("cohorts"), json={"name": "d", "groups": [{"properties": {"a": "b"}}]}
    ).json()
    calculate(hedgerow, cohort["id"], 1, people)
    url = persons_url(hedgerow, cohort["id"])
    assert [p["id"] for p in hedgerow.get(url).json()["results"]] == people[::-1]
    assert [p["id"] for p in hedgerow.get(url + "?limit=1&offset=1").json()["results"]] == [people[1]]
    assert [p["id"] for p in hedgerow.get(url + "?search=user").json()["results"]] == people[::-1]
