"""Static cohorts (cohorts.md §2.2, §4.6, §4.7): seeded members, manual adds and removals, and the
replica of static membership in the analytics store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hedgerow.db.session import transaction
from hedgerow.domain.cohorts.models import CohortStaticOutbox
from hedgerow.domain.cohorts.static import replicate_static_members
from hedgerow.domain.persons.models import Person, PersonDistinctId
from hedgerow.store.base import CompiledQuery
from tests.support import HedgerowClient, assert_error

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def add_person(
    hedgerow: HedgerowClient,
    *,
    project_id: int | None = None,
    properties: dict[str, Any] | None = None,
    distinct_ids: list[str] | None = None,
    age: int = 0,
) -> str:
    """A person row (and its distinct ids) written straight into the metadata store."""
    person_uuid = str(uuid.uuid4())
    with transaction(hedgerow.app.state.sessionmaker) as session:
        person = Person(
            uuid=person_uuid,
            project_id=project_id or hedgerow.project_id,
            properties=properties or {},
            is_identified=bool(distinct_ids),
            created_at=EPOCH + timedelta(minutes=age),
            version=0,
        )
        session.add(person)
        session.flush()
        for distinct_id in distinct_ids or []:
            session.add(
                PersonDistinctId(
                    project_id=person.project_id, distinct_id=distinct_id, person_id=person.id, version=0
                )
            )
    return person_uuid


def static_cohort(hedgerow: HedgerowClient, **extra: Any) -> dict[str, Any]:
    response = hedgerow.post(hedgerow.api("cohorts"), json={"name": "static", "is_static": True} | extra)
    assert response.status_code == 201, response.text
    return response.json()


def replica(hedgerow: HedgerowClient, cohort_id: int) -> set[str]:
    rows = hedgerow.app.state.store.query(
        CompiledQuery(
            "SELECT person_id FROM static_cohort_people_latest WHERE cohort_id = $cohort_id",
            {"cohort_id": cohort_id},
        )
    )
    return {str(row[0]) for row in rows}


def test_create_with_person_ids_keeps_only_this_projects_persons(hedgerow: HedgerowClient) -> None:
    other = hedgerow.create_project("Other")
    mine = [add_person(hedgerow) for _ in range(2)]
    foreign = add_person(hedgerow, project_id=other.id)
    ids = [*mine, foreign, str(uuid.uuid4()), "not-a-uuid", mine[0].upper()]
    cohort = static_cohort(hedgerow, _create_static_person_ids=ids)
    assert (cohort["count"], cohort["is_calculating"], cohort["errors_calculating"]) == (2, False, 0)
    assert cohort["last_calculation"] is not None
    assert replica(hedgerow, cohort["id"]) == set(mine)


def test_add_persons_checks_in_posthogs_order(hedgerow: HedgerowClient) -> None:
    url = hedgerow.api("cohorts")
    cohort = static_cohort(hedgerow)
    dynamic = hedgerow.post(url, json={"name": "d", "groups": [{"properties": {"a": "b"}}]}).json()

    def add(cohort_id: int, body: Any) -> Any:
        return hedgerow.patch(f"{url}{cohort_id}/add_persons_to_static_cohort/", json=body)

    assert_error(
        add(424242, {"person_ids": []}), 404, type="invalid_request", code="not_found", detail="Not found."
    )
    cases = [
        (dynamic["id"], {"person_ids": [str(uuid.uuid4())]}, "Can only add users to static cohorts"),
        (cohort["id"], {}, "person_ids must be a list"),
        (cohort["id"], {"person_ids": "abc"}, "person_ids must be a list"),
        (cohort["id"], {"person_ids": []}, "person_ids cannot be empty"),
        (cohort["id"], {"person_ids": [str(uuid.uuid4())] * 1001}, "List size exceeds limit"),
        (cohort["id"], {"person_ids": [str(uuid.uuid4()), "garbage"]}, "No valid users to add to cohort"),
    ]
    for cohort_id, body, detail in cases:
        assert_error(add(cohort_id, body), 400, type="validation_error", code="invalid_input", detail=detail)


def test_add_and_remove_persons(hedgerow: HedgerowClient) -> None:
    url = hedgerow.api("cohorts")
    people = [add_person(hedgerow, age=i) for i in range(3)]
    cohort = static_cohort(hedgerow)
    path = f"{url}{cohort['id']}/"

    added = hedgerow.patch(f"{path}add_persons_to_static_cohort/", json={"person_ids": people[:2]})
    assert (added.status_code, added.json()) == (200, {"success": True})
    again = hedgerow.patch(f"{path}add_persons_to_static_cohort/", json={"person_ids": people})
    assert again.json() == {"success": True}
    body = hedgerow.get(path).json()
    assert (body["count"], body["is_calculating"]) == (3, False)
    assert replica(hedgerow, cohort["id"]) == set(people)

    removed = hedgerow.patch(f"{path}remove_person_from_static_cohort/", json={"person_id": people[0]})
    assert (removed.status_code, removed.json()) == (200, {"success": True})
    # Removing a person who is no longer a member still succeeds and changes nothing.
    assert hedgerow.patch(
        f"{path}remove_person_from_static_cohort/", json={"person_id": people[0]}
    ).json() == {"success": True}
    assert hedgerow.get(path).json()["count"] == 2
    assert replica(hedgerow, cohort["id"]) == set(people[1:])

    activity = hedgerow.get(f"{path}activity/").json()["results"]
    assert [e["activity"] for e in activity] == [
        "person_removed_manually",
        "person_removed_manually",
        "persons_added_manually",
        "persons_added_manually",
        "created",
    ]
    assert activity[0]["detail"] == {
        "changes": [{"type": "Cohort", "action": "changed", "field": None, "before": None, "after": None}],
        "trigger": None,
        "name": None,
        "short_id": None,
        "type": None,
    }


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({}, 400, "person_id is required"),
        ({"person_id": ""}, 400, "person_id is required"),
        ({"person_id": 12}, 400, "person_id must be a string"),
        ({"person_id": "nope"}, 400, "person_id must be a valid UUID"),
        ({"person_id": "00000000-0000-4000-8000-000000000000"}, 404, None),
    ],
)
def test_remove_person_refusals(
    hedgerow: HedgerowClient, body: dict[str, Any], status: int, detail: str | None
) -> None:
    cohort = static_cohort(hedgerow)
    response = hedgerow.patch(
        f"{hedgerow.api('cohorts')}{cohort['id']}/remove_person_from_static_cohort/", json=body
    )
    if status == 404:
        assert_error(
            response,
            404,
            type="invalid_request",
            code="not_found",
            detail="Person with this UUID does not exist in the cohort's team",
        )
    else:
        assert_error(response, 400, type="validation_error", code="invalid_input", detail=detail)


def test_remove_from_dynamic_cohort_is_refused(hedgerow: HedgerowClient) -> None:
    dynamic = hedgerow.post(hedgerow.api("cohorts"), json={"groups": [{"properties": {"a": "b"}}]}).json()
    response = hedgerow.patch(
        f"{hedgerow.api('cohorts')}{dynamic['id']}/remove_person_from_static_cohort/",
        json={"person_id": add_person(hedgerow)},
    )
    assert_error(
        response,
        400,
        type="validation_error",
        code="invalid_input",
        detail="Can only remove users from static cohorts",
    )


def test_member_actions_need_cohort_write(hedgerow: HedgerowClient) -> None:
    cohort = static_cohort(hedgerow)
    reader = hedgerow.issue_key(["cohort:read"])
    response = hedgerow.patch(
        f"{hedgerow.api('cohorts')}{cohort['id']}/add_persons_to_static_cohort/",
        key=reader,
        json={"person_ids": [add_person(hedgerow)]},
    )
    assert_error(
        response,
        403,
        type="authentication_error",
        code="permission_denied",
        detail="API key missing required scope 'cohort:write'",
    )


class FailingStore:
    """The real store, except that it is unreachable for writes (a crash between the two stores)."""

    def add_static_cohort_members(self, *args: Any) -> None:
        raise ConnectionError("analytics store unavailable")

    remove_static_cohort_members = add_static_cohort_members


def test_membership_survives_an_unreachable_analytics_store(hedgerow: HedgerowClient) -> None:
    person = add_person(hedgerow)
    cohort = static_cohort(hedgerow)
    real_store = hedgerow.app.state.store
    hedgerow.app.state.store = FailingStore()
    try:
        response = hedgerow.patch(
            f"{hedgerow.api('cohorts')}{cohort['id']}/add_persons_to_static_cohort/",
            json={"person_ids": [person]},
        )
    finally:
        hedgerow.app.state.store = real_store
    # The membership is committed even though replication failed after the response.
    assert response.json() == {"success": True}
    assert hedgerow.get(f"{hedgerow.api('cohorts')}{cohort['id']}/").json()["count"] == 1
    assert replica(hedgerow, cohort["id"]) == set()
    factory = hedgerow.app.state.sessionmaker
    with transaction(factory) as session:
        assert len(session.scalars(select(CohortStaticOutbox)).all()) == 1
    assert replicate_static_members(factory, real_store) == 1
    assert replica(hedgerow, cohort["id"]) == {person}
    with transaction(factory) as session:
        assert session.scalars(select(CohortStaticOutbox)).all() == []


def test_member_bodies_may_be_forms(hedgerow: HedgerowClient) -> None:
    people = [add_person(hedgerow) for _ in range(3)]
    cohort = static_cohort(hedgerow)
    path = f"{hedgerow.api('cohorts')}{cohort['id']}/"
    single = hedgerow.patch(f"{path}add_persons_to_static_cohort/", data={"person_ids": people[0]})
    assert single.json() == {"success": True}
    repeated = hedgerow.patch(f"{path}add_persons_to_static_cohort/", data={"person_ids": people[1:]})
    assert repeated.json() == {"success": True}
    assert hedgerow.get(path).json()["count"] == 3
    removed = hedgerow.patch(f"{path}remove_person_from_static_cohort/", data={"person_id": people[0]})
    assert removed.json() == {"success": True} and hedgerow.get(path).json()["count"] == 2
