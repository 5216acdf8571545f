"""Dashboards: fields and routes the contract spells out (dashboards spec §1.1, §3.2, §5)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import HedgerowClient, assert_error

D = "dashboards"


def create(hedgerow: HedgerowClient, **body: Any) -> dict[str, Any]:
    response = hedgerow.post(hedgerow.api(D), json=body)
    assert response.status_code == 201, response.text
    return response.json()


def patch(hedgerow: HedgerowClient, dashboard_id: int, body: Any) -> dict[str, Any]:
    response = hedgerow.patch(hedgerow.api(D) + f"{dashboard_id}/", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_access_control_version_is_v1_for_restricted_dashboards(hedgerow: HedgerowClient) -> None:
    open_board = create(hedgerow, name="open")
    assert open_board["access_control_version"] == "v2"
    restricted = create(hedgerow, name="restricted", restriction_level=37)
    assert restricted["access_control_version"] == "v1"
    listed = {d["name"]: d for d in hedgerow.get(hedgerow.api(D)).json()["results"]}
    assert listed["restricted"]["access_control_version"] == "v1"
    assert listed["open"]["access_control_version"] == "v2"
    assert patch(hedgerow, open_board["id"], {"restriction_level": 37})["access_control_version"] == "v1"
    assert patch(hedgerow, open_board["id"], {"restriction_level": 21})["access_control_version"] == "v2"


def test_last_refresh_is_writable_on_create_and_update(hedgerow: HedgerowClient) -> None:
    created = create(hedgerow, name="x", last_refresh="2024-01-15T10:30:00Z")
    assert created["last_refresh"] == "2024-01-15T10:30:00Z"
    updated = patch(hedgerow, created["id"], {"last_refresh": "2024-02-01T00:00:00Z"})
    assert updated["last_refresh"] == "2024-02-01T00:00:00Z"
    listed = hedgerow.get(hedgerow.api(D)).json()["results"][0]
    assert listed["last_refresh"] == "2024-02-01T00:00:00Z"
    assert patch(hedgerow, created["id"], {"last_refresh": None})["last_refresh"] is None


def test_breakdown_colors_keep_any_json(hedgerow: HedgerowClient) -> None:
    colors = {"Chrome": "#ff0000", "Safari": "#00ff00"}
    created = create(hedgerow, name="x", breakdown_colors=colors)
    assert created["breakdown_colors"] == colors
    listed = [{"breakdownValue": "Chrome", "colorToken": "preset-1"}]
    assert patch(hedgerow, created["id"], {"breakdown_colors": listed})["breakdown_colors"] == listed
    copy = create(hedgerow, use_dashboard=created["id"])
    assert copy["breakdown_colors"] == listed
    assert create(hedgerow)["breakdown_colors"] == []


def test_duplicate_copies_breakdown_colors_as_they_are(hedgerow: HedgerowClient) -> None:
    colors = {"Chrome": "#ff0000"}
    source = create(hedgerow, name="x", breakdown_colors=colors)
    assert create(hedgerow, use_dashboard=source["id"])["breakdown_colors"] == colors


def test_environment_and_legacy_paths_serve_the_projects_dashboards(hedgerow: HedgerowClient) -> None:
    created = create(hedgerow, name="x")
    environment = f"/api/environments/{hedgerow.project_id}/dashboards/"
    listed = hedgerow.get(environment).json()
    assert [d["id"] for d in listed["results"]] == [created["id"]]
    assert hedgerow.get(environment + f"{created['id']}/").json()["name"] == "x"
    assert hedgerow.patch(environment + f"{created['id']}", json={"name": "y"}).json()["name"] == "y"
    assert hedgerow.get(environment + f"{created['id']}/sharing/").status_code == 200
    legacy = hedgerow.get("/api/dashboard/").json()
    assert [d["id"] for d in legacy["results"]] == [created["id"]]
    assert hedgerow.get(f"/api/dashboard/{created['id']}").json()["name"] == "y"
    made = hedgerow.post("/api/dashboard/", json={"name": "legacy"})
    assert made.status_code == 201 and made.json()["team_id"] == hedgerow.project_id
    # Pagination links echo the path the client used.
    page = hedgerow.get(environment + "?limit=1").json()
    assert page["next"].startswith(f"http://testserver{environment}?")
    assert hedgerow.get("/api/dashboards/").status_code == 404


def test_built_in_keys_ignore_a_project_template_of_the_same_name(hedgerow: HedgerowClient) -> None:
    own = hedgerow.post(
        hedgerow.api("dashboard_templates"),
        json={"template_name": "Product analytics", "tiles": [{"type": "TEXT", "body": "ours"}]},
    )
    assert own.status_code == 201, own.text
    built_in = create(hedgerow, use_template="DEFAULT_APP")
    assert len(built_in["tiles"]) == 6 and all(t["insight"] for t in built_in["tiles"])
    # The name itself finds the project's own template first.
    assert create(hedgerow, use_template="Product analytics")["tiles"][0]["text"]["body"] == "ours"


@pytest.mark.parametrize("field", ["pinned", "deleted", "description"])
def test_null_for_a_non_nullable_field_is_refused(hedgerow: HedgerowClient, field: str) -> None:
    created = create(hedgerow, name="x", description="kept")
    for response in (
        hedgerow.post(hedgerow.api(D), json={field: None}),
        hedgerow.patch(hedgerow.api(D) + f"{created['id']}/", json={field: None}),
    ):
        assert_error(
            response,
            400,
            type="validation_error",
            code="null",
            detail="This field may not be null.",
            attr=field,
        )
    fetched = hedgerow.get(hedgerow.api(D) + f"{created['id']}/").json()
    assert fetched["description"] == "kept" and fetched["deleted"] is False


@pytest.mark.parametrize("field", ["enabled", "password_required"])
def test_sharing_refuses_null_switches(hedgerow: HedgerowClient, field: str) -> None:
    created = create(hedgerow, name="x")
    response = hedgerow.patch(hedgerow.api(D) + f"{created['id']}/sharing/", json={field: None})
    assert_error(
        response, 400, type="validation_error", code="null", detail="This field may not be null.", attr=field
    )
