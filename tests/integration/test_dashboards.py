"""Dashboards API: list, create, retrieve, update, tiles, soft delete, scopes (dashboards spec §3-§7)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import HedgerowClient, assert_error

D = "dashboards"
BASIC_KEYS = [
    "id",
    "name",
    "description",
    "pinned",
    "created_at",
    "created_by",
    "last_accessed_at",
    "last_viewed_at",
    "is_shared",
    "deleted",
    "creation_mode",
    "tags",
    "restriction_level",
    "effective_restriction_level",
    "effective_privilege_level",
    "user_access_level",
    "access_control_version",
    "last_refresh",
    "team_id",
]
DETAIL_KEYS = [
    "id",
    "name",
    "description",
    "pinned",
    "created_at",
    "created_by",
    "last_accessed_at",
    "last_viewed_at",
    "is_shared",
    "deleted",
    "creation_mode",
    "filters",
    "variables",
    "breakdown_colors",
    "data_color_theme_id",
    "tags",
    "restriction_level",
    "effective_restriction_level",
    "effective_privilege_level",
    "user_access_level",
    "access_control_version",
    "last_refresh",
    "persisted_filters",
    "persisted_variables",
    "team_id",
    "tiles",
]
TRENDS = {
    "kind": "InsightVizNode",
    "source": {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}]},
}


def create(hedgerow: HedgerowClient, **body: Any) -> dict[str, Any]:
    response = hedgerow.post(hedgerow.api(D), json=body)
    assert response.status_code == 201, response.text
    return response.json()


def detail(hedgerow: HedgerowClient, dashboard_id: int) -> dict[str, Any]:
    response = hedgerow.get(hedgerow.api(D) + f"{dashboard_id}/")
    assert response.status_code == 200, response.text
    return response.json()


def patch(hedgerow: HedgerowClient, dashboard_id: int, body: Any) -> dict[str, Any]:
    response = hedgerow.patch(hedgerow.api(D) + f"{dashboard_id}/", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def insight(hedgerow: HedgerowClient, **body: Any) -> dict[str, Any]:
    response = hedgerow.post(hedgerow.api("insights"), json={"query": TRENDS, **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_returns_the_detail_representation(hedgerow: HedgerowClient) -> None:
    body = create(hedgerow, name="My new dashboard", description="")
    assert list(body) == DETAIL_KEYS
    me = body["created_by"]
    assert me["email"] == "admin@hedgerow.local"
    assert body["created_at"].endswith("Z")
    assert {k: v for k, v in body.items() if k not in ("id", "created_at", "created_by")} == {
        "name": "My new dashboard",
        "description": "",
        "pinned": False,
        "last_accessed_at": None,
        "last_viewed_at": None,
        "is_shared": False,
        "deleted": False,
        "creation_mode": "default",
        "filters": {},
        "variables": {},
        "breakdown_colors": [],
        "data_color_theme_id": None,
        "tags": [],
        "restriction_level": 21,
        "effective_restriction_level": 21,
        "effective_privilege_level": 37,
        "user_access_level": "manager",
        "access_control_version": "v2",
        "last_refresh": None,
        "persisted_filters": None,
        "persisted_variables": None,
        "team_id": hedgerow.project_id,
        "tiles": [],
    }


def test_empty_body_creates_an_unnamed_dashboard(hedgerow: HedgerowClient) -> None:
    body = create(hedgerow)
    assert body["name"] is None and body["description"] == ""


def test_list_is_basic_pinned_first_then_by_name_and_hides_deleted(hedgerow: HedgerowClient) -> None:
    b = create(hedgerow, name="b")
    create(hedgerow, name="a")
    create(hedgerow, name="z", pinned=True)
    gone = create(hedgerow, name="c")
    patch(hedgerow, gone["id"], {"deleted": True})
    page = hedgerow.get(hedgerow.api(D)).json()
    assert page["count"] == 3 and page["next"] is None and page["previous"] is None
    assert [d["name"] for d in page["results"]] == ["z", "a", "b"]
    assert list(page["results"][0]) == BASIC_KEYS
    limited = hedgerow.get(hedgerow.api(D) + "?limit=1&offset=1").json()
    assert [d["id"] for d in limited["results"]] == [
        next(d["id"] for d in page["results"] if d["name"] == "a")
    ]
    assert limited["next"].endswith("?limit=1&offset=2")
    assert b["id"] in [d["id"] for d in page["results"]]


def test_list_filters_by_any_of_the_tags(hedgerow: HedgerowClient) -> None:
    create(hedgerow, name="one", tags=["Marketing ", "growth"])
    create(hedgerow, name="two", tags=["sales"])
    create(hedgerow, name="three")
    names = [
        d["name"] for d in hedgerow.get(hedgerow.api(D) + "?tags=marketing&tags=sales").json()["results"]
    ]
    assert sorted(names) == ["one", "two"]
    tagged = next(d for d in hedgerow.get(hedgerow.api(D)).json()["results"] if d["name"] == "one")
    assert tagged["tags"] == ["marketing", "growth"]


def test_format_txt_and_unknown_formats(hedgerow: HedgerowClient) -> None:
    create(hedgerow, name="x")
    response = hedgerow.get(hedgerow.api(D) + "?format=txt")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.text == "countnextpreviousresults"
    assert hedgerow.get(hedgerow.api(D) + "?format=json").status_code == 200
    assert_error(hedgerow.get(hedgerow.api(D) + "?format=csv"), 404, type="invalid_request", code="not_found")


def test_retrieve_sets_last_accessed_at_and_404s(hedgerow: HedgerowClient) -> None:
    created = create(hedgerow, name="x")
    body = detail(hedgerow, created["id"])
    assert body["last_accessed_at"] is not None
    assert_error(
        hedgerow.get(hedgerow.api(D) + "999999/"),
        404,
        type="invalid_request",
        code="not_found",
        detail="Not found.",
    )
    other = hedgerow.create_project("Elsewhere")
    assert hedgerow.get(hedgerow.api(D, other.id) + f"{created['id']}/").status_code == 404


def test_validation_errors(hedgerow: HedgerowClient) -> None:
    path = hedgerow.api(D)
    assert_error(
        hedgerow.post(path, json={"name": "x" * 401}),
        400,
        type="validation_error",
        code="max_length",
        detail="Ensure this field has no more than 400 characters.",
        attr="name",
    )
    assert_error(
        hedgerow.post(path, json={"use_template": "Product analytics", "use_dashboard": 1}),
        400,
        type="validation_error",
        code="invalid_input",
        detail="`use_dashboard` and `use_template` cannot be used together",
    )
    assert_error(
        hedgerow.post(path, json={"use_dashboard": ""}),
        400,
        type="validation_error",
        code="invalid_input",
        detail="A valid integer is required.",
        attr="use_dashboard",
    )
    assert_error(
        hedgerow.post(path, json={"use_dashboard": 424242}),
        400,
        type="validation_error",
        code="invalid_input",
        detail="Invalid value provided",
        attr="use_dashboard",
    )
    assert_error(
        hedgerow.post(path, json={"filters": "nope"}),
        400,
        type="validation_error",
        code="invalid_input",
        detail="Filters must be a dictionary",
    )
    assert_error(
        hedgerow.post(path, json={"restriction_level": 5}),
        400,
        type="validation_error",
        code="invalid_choice",
        detail='"5" is not a valid choice.',
        attr="restriction_level",
    )
    assert hedgerow.get(path).json()["count"] == 0


def test_unknown_template_is_400_and_leaves_nothing_behind(hedgerow: HedgerowClient) -> None:
    assert_error(
        hedgerow.post(hedgerow.api(D), json={"name": "t", "use_template": "NOPE"}),
        400,
        type="validation_error",
        code="invalid_input",
        detail="Invalid template provided: NOPE",
        attr="use_template",
    )
    assert hedgerow.get(hedgerow.api(D)).json()["count"] == 0
    assert hedgerow.get(hedgerow.api("insights")).json()["count"] == 0


@pytest.mark.parametrize("key", ["Product analytics", "DEFAULT_APP"])
def test_use_template_instantiates_the_built_in_insights(hedgerow: HedgerowClient, key: str) -> None:
    body = create(hedgerow, use_template=key, description="ignored", tags=["mine"])
    assert body["name"] == "Product analytics"
    assert body["creation_mode"] == "template"
    assert body["description"] == "Who uses the product, how often, and what they do."
    assert body["tags"] == ["mine"]
    # PostHog's built-in template: DAU, WAU, retention, growth accounting, referring domains, funnel.
    assert len(body["tiles"]) == 6 and all(t["insight"] and not t["text"] for t in body["tiles"])
    kinds = [t["insight"]["query"]["source"]["kind"] for t in body["tiles"]]
    assert kinds == [
        "TrendsQuery", "TrendsQuery", "RetentionQuery", "LifecycleQuery", "TrendsQuery", "FunnelsQuery"
    ]  # fmt: skip
    first = body["tiles"][0]
    assert first["order"] == 0 and first["layouts"]["sm"]["x"] == 0 and first["layouts"]["sm"]["y"] == 0
    tile_insight = first["insight"]
    assert tile_insight["name"] == "Daily active users (DAUs)"
    assert tile_insight["is_sample"] is True and tile_insight["saved"] is False
    assert tile_insight["filters"] == {} and tile_insight["result"] is None
    assert tile_insight["dashboards"] == [body["id"]]
    assert tile_insight["query"]["source"]["series"][0]["math"] == "dau"
    assert [t["order"] for t in body["tiles"]] == list(range(6))
    listed = hedgerow.get(hedgerow.api("insights")).json()
    assert listed["count"] == 6


def test_team_template_by_name_wins_over_global(hedgerow: HedgerowClient) -> None:
    response = hedgerow.post(
        hedgerow.api("dashboard_templates"),
        json={
            "template_name": "Ours",
            "dashboard_description": "d",
            "dashboard_filters": {"date_from": "-14d"},
            "tiles": [{"type": "TEXT", "body": "# Hello", "layouts": {}}],
            "tags": ["Team"],
        },
    )
    assert response.status_code == 201, response.text
    body = create(hedgerow, use_template="Ours", name="Given name")
    assert body["name"] == "Given name"
    assert body["filters"] == {"date_from": "-14d"}
    assert body["tags"] == ["team"]
    assert body["tiles"][0]["text"]["body"] == "# Hello"


def test_patch_fields_tags_filters_and_ignored_creation_mode(hedgerow: HedgerowClient) -> None:
    created = create(hedgerow, name="x", tags=["a"])
    body = patch(
        hedgerow,
        created["id"],
        {
            "name": "y",
            "pinned": "true",
            "tags": ["B", "b", " c "],
            "creation_mode": "template",
            "filters": {"date_from": "-24h", "properties": [{"key": "prop", "value": "val"}]},
        },
    )
    assert body["name"] == "y" and body["pinned"] is True and body["creation_mode"] == "default"
    assert body["tags"] == ["b", "c"]
    assert body["filters"] == {"date_from": "-24h", "properties": [{"key": "prop", "value": "val"}]}
    assert body["persisted_filters"] == body["filters"]
    # Falsy filters do not clear them (PostHog quirk).
    assert patch(hedgerow, created["id"], {"filters": {}})["filters"]["date_from"] == "-24h"
    assert_error(
        hedgerow.patch(hedgerow.api(D) + f"{created['id']}/", json={"filters": [1]}),
        400,
        type="validation_error",
        code="invalid_input",
        detail="Filters must be a dictionary",
    )
    put = hedgerow.put(hedgerow.api(D) + f"{created['id']}/", json={"description": "put works like patch"})
    assert put.status_code == 200 and put.json()["name"] == "y"


def test_delete_is_405_with_empty_body(hedgerow: HedgerowClient) -> None:
    created = create(hedgerow, name="x")
    response = hedgerow.delete(hedgerow.api(D) + f"{created['id']}/")
    assert response.status_code == 405 and response.content == b""
    assert hedgerow.delete(hedgerow.api(D) + "987654/").status_code == 405
    assert detail(hedgerow, created["id"])["name"] == "x"


def test_scopes(hedgerow: HedgerowClient) -> None:
    created = create(hedgerow, name="x")
    reader = hedgerow.issue_key(["dashboard:read"])
    assert hedgerow.get(hedgerow.api(D), key=reader).status_code == 200
    assert hedgerow.get(hedgerow.api(D) + f"{created['id']}/", key=reader).status_code == 200
    for response in (
        hedgerow.post(hedgerow.api(D), key=reader, json={}),
        hedgerow.patch(hedgerow.api(D) + f"{created['id']}/", key=reader, json={"name": "n"}),
        hedgerow.delete(hedgerow.api(D) + f"{created['id']}/", key=reader),
    ):
        assert_error(
            response,
            403,
            type="authentication_error",
            code="permission_denied",
            detail="API key missing required scope 'dashboard:write'",
        )
    nobody = hedgerow.issue_key(["insight:read"])
    assert_error(
        hedgerow.get(hedgerow.api(D), key=nobody),
        403,
        type="authentication_error",
        code="permission_denied",
        detail="API key missing required scope 'dashboard:read'",
    )
    writer = hedgerow.issue_key(["dashboard:write"])
    assert hedgerow.post(hedgerow.api(D), key=writer, json={"name": "w"}).status_code == 201


def test_activity_log_entries(hedgerow: HedgerowClient) -> None:
    created = create(hedgerow, name="logged")
    patch(hedgerow, created["id"], {"name": "renamed"})
    entries = hedgerow.get(f"/api/projects/{hedgerow.project_id}/activity_log/?scope=Dashboard").json()[
        "results"
    ]
    assert [e["activity"] for e in entries] == ["updated", "created"]
    change = entries[0]["detail"]["changes"][0]
    assert change == {
        "type": "Dashboard",
        "action": "changed",
        "field": "name",
        "before": "logged",
        "after": "renamed",
    }
    assert entries[0]["item_id"] == str(created["id"])


def test_create_from_template_json(hedgerow: HedgerowClient) -> None:
    path = hedgerow.api(D) + "create_from_template_json"
    template = {
        "template_name": "From JSON",
        "dashboard_description": "desc",
        "dashboard_filters": {},
        "tiles": [
            {"type": "TEXT", "body": "hi", "layouts": {}},
            {"type": "INSIGHT", "name": "q", "query": TRENDS, "layouts": {}},
        ],
        "tags": ["t"],
    }
    response = hedgerow.post(path, json={"template": template})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "From JSON" and body["creation_mode"] == "template" and body["tags"] == ["t"]
    made = next(t["insight"] for t in body["tiles"] if t["insight"])
    assert made["query"] == TRENDS and made["filters"] == {}
    bad = hedgerow.post(path, json={"template": {**template, "tiles": []}})
    assert bad.status_code == 400
    error = bad.json()
    assert error["type"] == "validation_error" and error["code"] == "invalid_input" and error["attr"] is None
    assert error["detail"].startswith("[] should be non-empty") or error["detail"].startswith(
        "[] is too short"
    )
    missing = hedgerow.post(path, json={"template": {"tiles": [{}]}}).json()
    assert missing["detail"].splitlines()[0] == "'template_name' is a required property"
    assert hedgerow.get(hedgerow.api(D)).json()["count"] == 1
