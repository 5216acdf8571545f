"""Cohorts CRUD (cohorts.md §1, §2, §4.1-4.5): payload shape, validation, soft delete, scopes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from hedgerow.db.session import transaction
from hedgerow.domain.jobs.models import Job
from tests.support import HedgerowClient, assert_error

FIELD_ORDER = [
    "id",
    "name",
    "description",
    "groups",
    "deleted",
    "filters",
    "query",
    "version",
    "pending_version",
    "is_calculating",
    "created_by",
    "created_at",
    "last_calculation",
    "last_backfill_person_properties_at",
    "errors_calculating",
    "last_error_message",
    "count",
    "is_static",
    "cohort_type",
    "experiment_set",
]
EMAIL_LEAF = {"key": "email", "type": "person", "value": "@acme.com", "operator": "icontains"}
PAGEVIEW = {
    "key": "$pageview",
    "event_type": "events",
    "time_value": 1,
    "time_interval": "day",
    "value": "performed_event",
    "type": "behavioral",
}


def criteria(*leaves: dict[str, Any]) -> dict[str, Any]:
    return {"properties": {"type": "OR", "values": [{"type": "AND", "values": list(leaves)}]}}


def stored(*leaves: dict[str, Any]) -> dict[str, Any]:
    return criteria(*({"negation": False} | leaf for leaf in leaves))


def create(hedgerow: HedgerowClient, **body: Any) -> dict[str, Any]:
    response = hedgerow.post(hedgerow.api("cohorts"), json=body)
    assert response.status_code == 201, response.text
    return response.json()


def jobs(hedgerow: HedgerowClient) -> list[tuple[str, dict[str, Any], str | None]]:
    with transaction(hedgerow.app.state.sessionmaker) as session:
        return [(j.kind, j.payload, j.dedupe_key) for j in session.scalars(select(Job).order_by(Job.id))]


def test_create_returns_every_field_in_order(hedgerow: HedgerowClient) -> None:
    body = create(hedgerow, name="Power users", filters=criteria(EMAIL_LEAF))
    assert list(body) == FIELD_ORDER
    user = body.pop("created_by")
    assert set(user) == {
        "id",
        "uuid",
        "distinct_id",
        "first_name",
        "last_name",
        "email",
        "is_email_verified",
        "hedgehog_config",
        "role_at_organization",
    }
    assert user["email"] == hedgerow.init.user_email
    assert body.pop("created_at").endswith("Z")
    assert body == {
        "id": body["id"],
        "name": "Power users",
        "description": "",
        "groups": [],
        "deleted": False,
        "filters": stored(EMAIL_LEAF),
        "query": None,
        "version": None,
        "pending_version": 1,
        "is_calculating": True,
        "last_calculation": None,
        "last_backfill_person_properties_at": None,
        "errors_calculating": 0,
        "last_error_message": None,
        "count": None,
        "is_static": False,
        "cohort_type": "realtime",
        "experiment_set": [],
    }
    assert jobs(hedgerow) == [
        ("calculate_cohort", {"cohort_id": body["id"], "pending_version": 1}, f"cohort:{body['id']}")
    ]
    again = hedgerow.get(f"{hedgerow.api('cohorts')}{body['id']}/").json()
    assert again["filters"] == stored(EMAIL_LEAF) and again["pending_version"] == 1


def test_write_only_and_read_only_fields(hedgerow: HedgerowClient) -> None:
    body = create(
        hedgerow,
        name="x",
        is_static=True,
        _create_in_folder="Unfiled/Cohorts",
        _create_static_person_ids=[],
        count=99,
        version=7,
        errors_calculating=5,
        created_by={"id": 42},
    )
    assert "_create_in_folder" not in body and "_create_static_person_ids" not in body
    assert (body["count"], body["version"], body["errors_calculating"]) == (0, None, 0)
    assert body["is_calculating"] is False and body["last_calculation"] is not None


def test_behavioral_cohort_types(hedgerow: HedgerowClient) -> None:
    realtime = create(hedgerow, name="a", filters=criteria(PAGEVIEW))
    assert realtime["cohort_type"] == "realtime"
    sequence = PAGEVIEW | {
        "value": "stopped_performing_event",
        "seq_time_value": 2,
        "seq_time_interval": "day",
    }
    analytical = create(hedgerow, name="b", filters=criteria(sequence))
    assert analytical["cohort_type"] is None
    referencing = create(
        hedgerow, name="c", filters=criteria({"key": "id", "type": "cohort", "value": realtime["id"]})
    )
    assert referencing["cohort_type"] == "realtime"
    not_realtime = create(
        hedgerow, name="d", filters=criteria({"key": "id", "type": "cohort", "value": analytical["id"]})
    )
    assert not_realtime["cohort_type"] is None


@pytest.mark.parametrize(
    ("sent", "filters", "expected"),
    [
        ("person_property", criteria(EMAIL_LEAF), None),
        ("behavioral", criteria(EMAIL_LEAF, PAGEVIEW), None),
        (
            "realtime",
            criteria(EMAIL_LEAF),
            "Cohort type 'realtime' does not match the filters. Expected type: 'person_property'",
        ),
        (
            "static",
            criteria(PAGEVIEW),
            "Cohort type 'static' does not match the filters. Expected type: 'behavioral'",
        ),
        ("person_property", None, "Invalid cohort type for the given filters"),
    ],
)
def test_cohort_type_is_checked_then_overridden_for_dynamic_cohorts(
    hedgerow: HedgerowClient, sent: str, filters: dict[str, Any] | None, expected: str | None
) -> None:
    response = hedgerow.post(
        hedgerow.api("cohorts"), json={"name": "t", "filters": filters, "cohort_type": sent}
    )
    if expected is None:
        assert response.status_code == 201, response.text
        assert response.json()["cohort_type"] == "realtime"
    else:
        assert_error(
            response, 400, type="validation_error", code="invalid_input", detail=expected, attr="cohort_type"
        )


def test_unknown_operators_and_behaviours_are_saved_but_not_realtime(hedgerow: HedgerowClient) -> None:
    odd_operator = {"key": "email", "type": "person", "value": "x", "operator": "resembles"}
    odd_behaviour = PAGEVIEW | {"value": "did_something"}
    for leaf in (odd_operator, odd_behaviour):
        body = create(hedgerow, name="odd", filters=criteria(leaf))
        assert body["filters"] == stored(leaf) and body["cohort_type"] is None
        assert body["pending_version"] == 1


def test_cohort_type_invalid_choice_and_static_type(hedgerow: HedgerowClient) -> None:
    response = hedgerow.post(hedgerow.api("cohorts"), json={"name": "t", "cohort_type": "weird"})
    assert_error(
        response,
        400,
        type="validation_error",
        code="invalid_choice",
        detail='"weird" is not a valid choice.',
        attr="cohort_type",
    )
    body = create(hedgerow, name="s", is_static=True, cohort_type="static")
    assert body["cohort_type"] == "static"


def test_bad_filters_win_over_a_bad_cohort_type(hedgerow: HedgerowClient) -> None:
    response = hedgerow.post(
        hedgerow.api("cohorts"),
        json={"name": "t", "filters": criteria({"key": "email", "type": "person"}), "cohort_type": "weird"},
    )
    assert_error(
        response,
        400,
        type="validation_error",
        code="invalid_input",
        detail="Missing required keys for person filter: value, operator",
        attr="filters",
    )


def test_filter_shape_errors(hedgerow: HedgerowClient) -> None:
    response = hedgerow.post(hedgerow.api("cohorts"), json={"name": "t", "filters": "[Slkasd=lkxcn]"})
    assert_error(
        response,
        400,
        type="validation_error",
        code="invalid_input",
        detail="Must contain a 'properties' key with type and values",
        attr="filters__detail",
    )
    response = hedgerow.post(
        hedgerow.api("cohorts"), json={"name": "t", "filters": criteria(PAGEVIEW | {"not_a_field": 1})}
    )
    assert response.status_code == 400 and response.json()["attr"] == "filters"
    assert "not_a_field" in response.json()["detail"]


def test_field_validation(hedgerow: HedgerowClient) -> None:
    url = hedgerow.api("cohorts")
    assert_error(
        hedgerow.post(url, json={"name": "n" * 401}),
        400,
        type="validation_error",
        code="max_length",
        detail="Ensure this field has no more than 400 characters.",
        attr="name",
    )
    assert_error(
        hedgerow.post(url, json={"description": None}),
        400,
        type="validation_error",
        code="null",
        detail="This field may not be null.",
        attr="description",
    )
    numeric = hedgerow.post(url, json={"name": 5, "description": 1.5, "is_static": True})
    assert numeric.status_code == 201 and (numeric.json()["name"], numeric.json()["description"]) == (
        "5",
        "1.5",
    )
    assert_error(
        hedgerow.post(url, json={"name": True}),
        400,
        type="validation_error",
        code="invalid_input",
        detail="Not a valid string.",
        attr="name",
    )
    assert_error(
        hedgerow.post(url, json={"is_static": "maybe"}),
        400,
        type="validation_error",
        code="invalid_input",
        detail="Must be a valid boolean.",
        attr="is_static",
    )
    assert_error(
        hedgerow.post(url, json={"is_static": True, "query": [1]}),
        400,
        type="validation_error",
        code="invalid_input",
        detail="Query must be a dictionary.",
        attr="query",
    )
    assert_error(
        hedgerow.post(url, json={"is_static": True, "query": {"kind": "TrendsQuery"}}),
        400,
        type="validation_error",
        code="invalid_input",
        detail="Query must be an ActorsQuery or HogQLQuery. Got: TrendsQuery",
        attr="query",
    )
    assert_error(
        hedgerow.post(url, json={"query": {"kind": "HogQLQuery", "query": "select 1"}}),
        400,
        type="validation_error",
        code="invalid_input",
        detail="Cannot create a dynamic cohort with a query. Set is_static to true.",
    )
    assert_error(
        hedgerow.post(
            url, json={"is_static": True, "query": {"kind": "HogQLQuery"}, "filters": criteria(EMAIL_LEAF)}
        ),
        400,
        type="validation_error",
        code="invalid_input",
        detail="Cannot set both query and filters at the same time.",
    )
    assert hedgerow.get(url).json()["count"] == 1


def test_references_are_checked_on_update_only(hedgerow: HedgerowClient) -> None:
    """PostHog looks referenced cohorts up when a cohort is updated, not when it is created; the
    refusal is raised while saving, so it carries no `attr`."""
    url = hedgerow.api("cohorts")
    other = hedgerow.create_project("Other")
    foreign = hedgerow.post(
        hedgerow.api("cohorts", other.id), json={"name": "f", "filters": criteria(EMAIL_LEAF)}
    )
    assert foreign.status_code == 201
    gone = create(hedgerow, name="gone", filters=criteria(EMAIL_LEAF))
    hedgerow.patch(f"{url}{gone['id']}/", json={"deleted": True})
    for target in (9999, foreign.json()["id"]):
        created = create(
            hedgerow, name="r", filters=criteria({"key": "id", "type": "cohort", "value": target})
        )
        assert created["cohort_type"] is None
        response = hedgerow.patch(
            f"{url}{created['id']}/",
            json={"filters": criteria({"key": "id", "type": "cohort", "value": target})},
        )
        assert_error(
            response, 400, type="validation_error", code="invalid_input", detail="Invalid Cohort ID in filter"
        )
    legacy = create(hedgerow, name="legacy", groups=[{"properties": {"team_id": 5}}])
    response = hedgerow.patch(
        f"{url}{legacy['id']}/",
        json={
            "name": "Cohort A, reloaded",
            "groups": [{"properties": [{"type": "cohort", "value": "99999", "key": "id"}]}],
        },
    )
    assert_error(
        response, 400, type="validation_error", code="invalid_input", detail="Invalid Cohort ID in filter"
    )
    # A soft-deleted cohort still exists (it can be retrieved and restored), so it may be referenced.
    referencing = create(hedgerow, name="ok", filters=criteria(EMAIL_LEAF))
    patched = hedgerow.patch(
        f"{url}{referencing['id']}/",
        json={"filters": criteria({"key": "id", "type": "cohort", "value": gone["id"]})},
    )
    assert patched.status_code == 200, patched.text


def test_loops_are_refused_and_diamonds_allowed(hedgerow: HedgerowClient) -> None:
    url = hedgerow.api("cohorts")
    a = create(hedgerow, name="A", filters=criteria(EMAIL_LEAF))
    b = create(hedgerow, name="B", filters=criteria({"key": "id", "type": "cohort", "value": a["id"]}))
    c = create(
        hedgerow,
        name="C",
        filters=criteria(
            {"key": "id", "type": "cohort", "value": a["id"]},
            {"key": "id", "type": "cohort", "value": b["id"]},
        ),
    )
    assert c["id"]
    for target in (c["id"], a["id"]):
        response = hedgerow.patch(
            f"{url}{a['id']}/", json={"filters": criteria({"key": "id", "type": "cohort", "value": target})}
        )
        assert_error(
            response,
            400,
            type="validation_error",
            code="invalid_input",
            detail="Cohorts cannot reference other cohorts in a loop.",
        )


def test_list_search_pagination_and_soft_delete(hedgerow: HedgerowClient) -> None:
    url = hedgerow.api("cohorts")
    ids = [create(hedgerow, name=name, is_static=True)["id"] for name in ("Alpha", "beta", "Gamma alphabet")]
    listed = hedgerow.get(url).json()
    assert [c["id"] for c in listed["results"]] == ids[::-1]
    assert (listed["count"], listed["next"], listed["previous"]) == (3, None, None)
    assert [c["name"] for c in hedgerow.get(f"{url}?search=ALPHA").json()["results"]] == [
        "Gamma alphabet",
        "Alpha",
    ]
    page = hedgerow.get(f"{url}?limit=1&offset=1").json()
    assert page["count"] == 3 and [c["name"] for c in page["results"]] == ["beta"]
    assert page["next"] == f"http://testserver{url}?limit=1&offset=2"
    assert page["previous"] == f"http://testserver{url}?limit=1"

    deleted = hedgerow.patch(f"{url}{ids[0]}/", json={"deleted": True})
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert [c["id"] for c in hedgerow.get(url).json()["results"]] == ids[:0:-1]
    assert hedgerow.get(f"{url}{ids[0]}/").json()["deleted"] is True
    restored = hedgerow.patch(f"{url}{ids[0]}/", json={"deleted": False}).json()
    assert restored["deleted"] is False and hedgerow.get(url).json()["count"] == 3


def test_retrieve_unknown_or_foreign_cohort_is_404(hedgerow: HedgerowClient) -> None:
    other = hedgerow.create_project("Other")
    foreign = hedgerow.post(hedgerow.api("cohorts", other.id), json={"name": "f"}).json()
    for path in (
        f"{hedgerow.api('cohorts')}{foreign['id']}/",
        f"{hedgerow.api('cohorts')}4242/",
        f"{hedgerow.api('cohorts')}abc/",
    ):
        assert_error(hedgerow.get(path), 404, type="invalid_request", code="not_found", detail="Not found.")


def test_delete_is_405_with_empty_body_after_scope_checks(hedgerow: HedgerowClient) -> None:
    url = hedgerow.api("cohorts")
    cohort = create(hedgerow, name="x", is_static=True)
    for cohort_id in (cohort["id"], 999999):
        response = hedgerow.delete(f"{url}{cohort_id}/")
        assert response.status_code == 405 and response.content == b""
    reader = hedgerow.issue_key(["cohort:read"])
    assert_error(
        hedgerow.delete(f"{url}999999/", key=reader),
        403,
        type="authentication_error",
        code="permission_denied",
        detail="API key missing required scope 'cohort:write'",
    )
    assert hedgerow.get(f"{url}{cohort['id']}/").status_code == 200


def test_scopes(hedgerow: HedgerowClient) -> None:
    url = hedgerow.api("cohorts")
    reader = hedgerow.issue_key(["cohort:read"])
    writer = hedgerow.issue_key(["cohort:write"])
    nothing = hedgerow.issue_key(["dashboard:read"])
    assert hedgerow.get(url, key=reader).status_code == 200
    assert hedgerow.get(url, key=writer).status_code == 200
    assert_error(
        hedgerow.get(url, key=nothing),
        403,
        type="authentication_error",
        code="permission_denied",
        detail="API key missing required scope 'cohort:read'",
    )
    assert_error(
        hedgerow.post(url, key=reader, json={"name": "x"}),
        403,
        type="authentication_error",
        code="permission_denied",
        detail="API key missing required scope 'cohort:write'",
    )
    created = hedgerow.post(url, key=writer, json={"name": "x", "is_static": True})
    assert created.status_code == 201
    assert hedgerow.patch(f"{url}{created.json()['id']}/", key=reader, json={"name": "y"}).status_code == 403
    assert hedgerow.get(url.replace(str(hedgerow.project_id), "@current")).status_code == 200


def test_every_update_that_is_not_a_soft_delete_recalculates(hedgerow: HedgerowClient) -> None:
    """PostHog enqueues a calculation on any PATCH/PUT of a dynamic cohort, even a rename."""
    url = hedgerow.api("cohorts")
    cohort = create(hedgerow, name="x", filters=criteria(EMAIL_LEAF))
    renamed = hedgerow.patch(f"{url}{cohort['id']}/", json={"name": "y", "description": "d"}).json()
    assert (renamed["name"], renamed["description"], renamed["pending_version"]) == ("y", "d", 2)
    assert renamed["is_calculating"] is True
    not_deleted = hedgerow.patch(f"{url}{cohort['id']}/", json={"deleted": False}).json()
    assert not_deleted["pending_version"] == 3
    changed = hedgerow.put(f"{url}{cohort['id']}/", json={"filters": criteria(PAGEVIEW)}).json()
    assert changed["pending_version"] == 4 and changed["is_calculating"] is True
    assert changed["filters"] == stored(PAGEVIEW)
    # The still-waiting job was folded into one carrying the newest version.
    assert jobs(hedgerow) == [
        ("calculate_cohort", {"cohort_id": cohort["id"], "pending_version": 4}, f"cohort:{cohort['id']}")
    ]
    deleted = hedgerow.patch(f"{url}{cohort['id']}/", json={"deleted": True, "name": "z"}).json()
    assert deleted["pending_version"] == 4
    restored = hedgerow.patch(f"{url}{cohort['id']}/", json={"deleted": False}).json()
    assert restored["pending_version"] == 5


def test_dependents_are_recalculated_when_a_referenced_cohort_changes(hedgerow: HedgerowClient) -> None:
    url = hedgerow.api("cohorts")
    base = create(hedgerow, name="base", filters=criteria(EMAIL_LEAF))
    user = create(
        hedgerow, name="user", filters=criteria({"key": "id", "type": "cohort", "value": base["id"]})
    )
    hedgerow.patch(f"{url}{base['id']}/", json={"filters": criteria(PAGEVIEW)})
    assert hedgerow.get(f"{url}{user['id']}/").json()["pending_version"] == 2


def test_static_cohort_criteria_cannot_be_edited(hedgerow: HedgerowClient) -> None:
    url = hedgerow.api("cohorts")
    cohort = create(hedgerow, name="s", is_static=True)
    assert_error(
        hedgerow.patch(f"{url}{cohort['id']}/", json={"filters": criteria(EMAIL_LEAF)}),
        400,
        type="validation_error",
        code="invalid_input",
        detail=(
            "Editing the criteria of a static cohort is not supported yet. "
            "Create a new static cohort instead."
        ),
    )
    # Turning it dynamic with criteria is allowed and starts a calculation.
    flipped = hedgerow.patch(
        f"{url}{cohort['id']}/", json={"is_static": False, "filters": criteria(EMAIL_LEAF)}
    ).json()
    assert (flipped["is_static"], flipped["pending_version"], flipped["cohort_type"]) == (
        False,
        1,
        "realtime",
    )


def test_legacy_groups(hedgerow: HedgerowClient) -> None:
    body = create(hedgerow, name="whatever", groups=[{"properties": {"team_id": "5"}}])
    assert body["filters"] == {
        "properties": {
            "type": "OR",
            "values": [{"type": "AND", "values": [{"key": "team_id", "value": "5", "type": "person"}]}],
        }
    }
    assert body["groups"] == [
        {
            "properties": {"team_id": "5"},
            "action_id": None,
            "event_id": None,
            "days": None,
            "count": None,
            "count_operator": None,
            "start_date": None,
            "end_date": None,
            "label": None,
        }
    ]
    assert body["pending_version"] == 1
    assert_error(
        hedgerow.post(hedgerow.api("cohorts"), json={"groups": [{"days": 3}]}),
        400,
        type="validation_error",
        code="invalid_input",
        detail="Each group must have properties, action_id or event_id.",
        attr="groups",
    )


def test_form_encoded_bodies_with_json_fields(hedgerow: HedgerowClient) -> None:
    url = hedgerow.api("cohorts")
    response = hedgerow.post(url, data={"name": "form", "filters": json.dumps(criteria(EMAIL_LEAF))})
    assert response.status_code == 201, response.text
    assert response.json()["filters"] == stored(EMAIL_LEAF)
    multipart = hedgerow.patch(
        f"{url}{response.json()['id']}/",
        files={"name": (None, "multi"), "description": (None, "via multipart")},
    )
    assert multipart.status_code == 200, multipart.text
    assert (multipart.json()["name"], multipart.json()["description"]) == ("multi", "via multipart")
    static = hedgerow.post(url, data={"name": "s", "is_static": "true"})
    assert static.status_code == 201 and static.json()["is_static"] is True


def test_activity_log(hedgerow: HedgerowClient) -> None:
    url = hedgerow.api("cohorts")
    cohort = create(hedgerow, name="whatever", filters=criteria(EMAIL_LEAF))
    hedgerow.patch(f"{url}{cohort['id']}/", json={"name": "woohoo"})
    hedgerow.patch(f"{url}{cohort['id']}/", json={"name": "woohoo"})  # no change, no entry
    hedgerow.patch(f"{url}{cohort['id']}/", json={"deleted": True})
    other = create(hedgerow, name="other", is_static=True)

    detail = hedgerow.get(f"{url}{cohort['id']}/activity/").json()
    assert detail["total_count"] == 3 and detail["next"] is None and detail["previous"] is None
    entries = [{k: v for k, v in e.items() if k not in ("id", "created_at")} for e in detail["results"]]
    user = {"first_name": "admin", "email": hedgerow.init.user_email}
    assert entries == [
        {
            "user": user,
            "activity": "deleted",
            "scope": "Cohort",
            "item_id": str(cohort["id"]),
            "detail": {
                "changes": [
                    {
                        "type": "Cohort",
                        "action": "changed",
                        "field": "deleted",
                        "before": False,
                        "after": True,
                    }
                ],
                "trigger": None,
                "name": "woohoo",
                "short_id": None,
                "type": None,
            },
        },
        {
            "user": user,
            "activity": "updated",
            "scope": "Cohort",
            "item_id": str(cohort["id"]),
            "detail": {
                "changes": [
                    {
                        "type": "Cohort",
                        "action": "changed",
                        "field": "name",
                        "before": "whatever",
                        "after": "woohoo",
                    }
                ],
                "trigger": None,
                "name": "woohoo",
                "short_id": None,
                "type": None,
            },
        },
        {
            "user": user,
            "activity": "created",
            "scope": "Cohort",
            "item_id": str(cohort["id"]),
            "detail": {"changes": [], "trigger": None, "name": "whatever", "short_id": None, "type": None},
        },
    ]
    everything = hedgerow.get(f"{url}activity/?limit=2").json()
    assert everything["total_count"] == 4
    assert [e["item_id"] for e in everything["results"]] == [str(other["id"]), str(cohort["id"])]
    assert everything["next"] == f"http://testserver{url}activity/?limit=2&page=2"
    missing = hedgerow.get(f"{url}424242/activity/")
    assert missing.status_code == 404 and missing.content == b""
    reader = hedgerow.issue_key(["cohort:read"])
    assert_error(
        hedgerow.get(f"{url}activity/", key=reader),
        403,
        type="authentication_error",
        code="permission_denied",
        detail="API key missing required scope 'activity_log:read'",
    )
    assert hedgerow.get(f"{url}activity/", key=hedgerow.issue_key(["activity_log:read"])).status_code == 200


def test_soft_delete_and_restore_are_logged_as_such(hedgerow: HedgerowClient) -> None:
    url = hedgerow.api("cohorts")
    cohort = create(hedgerow, name="c", is_static=True)
    hedgerow.patch(f"{url}{cohort['id']}/", json={"deleted": True})
    hedgerow.patch(f"{url}{cohort['id']}/", json={"deleted": False})
    entries = hedgerow.get(f"{url}{cohort['id']}/activity/").json()["results"]
    assert [e["activity"] for e in entries] == ["restored", "deleted", "created"]
    assert entries[0]["detail"]["changes"] == [
        {"type": "Cohort", "action": "changed", "field": "deleted", "before": True, "after": False}
    ]


def test_list_filters_by_type_creator_and_behavioral(hedgerow: HedgerowClient) -> None:
    url = hedgerow.api("cohorts")
    static = create(hedgerow, name="static", is_static=True)
    person = create(hedgerow, name="person", filters=criteria(EMAIL_LEAF))
    behavioral = create(hedgerow, name="behavioral", filters=criteria(PAGEVIEW))
    indirect = create(
        hedgerow,
        name="indirect",
        filters=criteria({"key": "id", "type": "cohort", "value": behavioral["id"]}),
    )
    other_key = hedgerow.issue_key(["*"], email="other@acme.com")
    theirs = hedgerow.post(url, key=other_key, json={"name": "theirs", "is_static": True}).json()

    def names(query: str) -> list[str]:
        return [c["name"] for c in hedgerow.get(url + query).json()["results"]]

    assert names("?type=static") == ["theirs", "static"]
    assert names("?type=dynamic") == ["indirect", "behavioral", "person"]
    assert names(f"?created_by_id={theirs['created_by']['id']}") == ["theirs"]
    assert names("?hide_behavioral_cohorts=true") == ["theirs", "person", "static"]
    page = hedgerow.get(url + "?hide_behavioral_cohorts=true&limit=1&offset=1").json()
    assert page["count"] == 3 and [c["id"] for c in page["results"]] == [person["id"]]
    assert indirect["id"] and static["id"]


def test_the_legacy_flat_route_serves_the_current_project(hedgerow: HedgerowClient) -> None:
    """`/api/cohort/...` is PostHog's older route: the same endpoints on the caller's current project."""
    created = hedgerow.post("/api/cohort/", json={"name": "Legacy", "filters": {"properties": {}}})
    assert created.status_code == 201, created.text
    cohort_id = created.json()["id"]
    assert hedgerow.get(f"{hedgerow.api('cohorts')}{cohort_id}/").json()["name"] == "Legacy"
    assert hedgerow.get(f"/api/cohort/{cohort_id}").json()["id"] == cohort_id
    listed = hedgerow.get("/api/cohort/?limit=1").json()
    assert [c["id"] for c in listed["results"]] == [cohort_id]
    assert listed["next"] is None
    patched = hedgerow.patch(f"/api/cohort/{cohort_id}/", json={"name": "Renamed"})
    assert patched.status_code == 200 and patched.json()["name"] == "Renamed"
    persons = hedgerow.get(f"/api/cohort/{cohort_id}/persons")
    assert persons.status_code == 200 and persons.json()["results"] == []
    assert hedgerow.delete(f"/api/cohort/{cohort_id}/").status_code == 405
    assert_error(hedgerow.get("/api/cohort/999999/"), 404, type="invalid_request", code="not_found")
    # Other paths that merely start alike are not cohorts.
    assert hedgerow.get("/api/cohorts/").status_code == 404
