"""Dashboard templates over HTTP, per dashboards-templates-sharing.md §8-9."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from tests.support import HedgerowClient, assert_error

TILES = [{"type": "TEXT", "body": "hello", "layouts": {}}]
BASE_FIELDS = [
    "id", "template_name", "dashboard_description", "dashboard_filters", "tags", "tiles", "variables",
    "deleted", "created_at", "created_by", "image_url", "team_id", "scope", "availability_contexts",
]  # fmt: skip


def _path(hedgerow: HedgerowClient, suffix: str = "", project: int | str | None = None) -> str:
    return hedgerow.api("dashboard_templates", project) + suffix


def _create(hedgerow: HedgerowClient, **fields: Any) -> dict[str, Any]:
    body = {"template_name": "My template", "tiles": TILES} | fields
    response = hedgerow.post(_path(hedgerow), json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _names(response_json: dict[str, Any]) -> list[str]:
    return [t["template_name"] for t in response_json["results"]]


def test_global_templates_are_shipped(hedgerow: HedgerowClient) -> None:
    body = hedgerow.get(_path(hedgerow)).json()
    assert {"Product analytics", "Website traffic"} <= set(_names(body))
    product = next(t for t in body["results"] if t["template_name"] == "Product analytics")
    assert product["scope"] == "global" and product["team_id"] is None
    assert product["tiles"] and all(t["type"] in ("INSIGHT", "TEXT") for t in product["tiles"])
    insight = next(t for t in product["tiles"] if t["type"] == "INSIGHT")
    assert insight["query"]["kind"] == "InsightVizNode"
    assert insight["query"]["source"]["kind"] == "TrendsQuery"


def test_create_returns_201_with_every_field(hedgerow: HedgerowClient) -> None:
    created = _create(
        hedgerow,
        dashboard_description="desc",
        dashboard_filters={"date_from": "-7d"},
        tags=["a", "b"],
        variables=[],
        image_url="https://example.com/x.png",
        availability_contexts=["general"],
    )
    assert list(created) == BASE_FIELDS
    assert created["template_name"] == "My template"
    assert created["scope"] == "team"
    assert created["team_id"] == hedgerow.project_id
    assert created["deleted"] is False
    assert created["tiles"] == TILES
    assert created["created_at"].endswith("Z")
    # `created_by` is a user id the client may send; it is not filled in from the requester.
    assert created["created_by"] is None
    fetched = hedgerow.get(_path(hedgerow, f"{created['id']}/")).json()
    assert fetched == created


@pytest.mark.parametrize("tiles", [[], None])
def test_create_without_tiles_is_400(hedgerow: HedgerowClient, tiles: Any) -> None:
    response = hedgerow.post(_path(hedgerow), json={"template_name": "x", "tiles": tiles})
    assert_error(
        response,
        400,
        type="validation_error",
        code="invalid_input",
        detail="You need to provide tiles for the template.",
    )


def test_create_with_tiles_key_missing_is_400_not_500(hedgerow: HedgerowClient) -> None:
    response = hedgerow.post(_path(hedgerow), json={"template_name": "x"})
    assert_error(
        response,
        400,
        type="validation_error",
        code="invalid_input",
        detail="You need to provide tiles for the template.",
    )


def test_duplicate_name_in_project_is_400(hedgerow: HedgerowClient) -> None:
    _create(hedgerow, template_name="dup")
    response = hedgerow.post(_path(hedgerow), json={"template_name": "dup", "tiles": TILES})
    assert_error(
        response,
        400,
        type="validation_error",
        code="unique_template_name_per_team",
        detail="A dashboard template with this name already exists for this project.",
    )


def test_name_is_free_again_after_soft_delete(hedgerow: HedgerowClient) -> None:
    first = _create(hedgerow, template_name="again")
    assert hedgerow.patch(_path(hedgerow, f"{first['id']}/"), json={"deleted": True}).status_code == 200
    _create(hedgerow, template_name="again")


def test_field_validation_uses_drf_codes_and_attrs(hedgerow: HedgerowClient) -> None:
    bad_scope = hedgerow.post(_path(hedgerow), json={"template_name": "x", "tiles": TILES, "scope": "nope"})
    assert_error(
        bad_scope,
        400,
        type="validation_error",
        code="invalid_choice",
        detail='"nope" is not a valid choice.',
        attr="scope",
    )
    long_name = hedgerow.post(_path(hedgerow), json={"template_name": "n" * 401, "tiles": TILES})
    assert_error(
        long_name,
        400,
        type="validation_error",
        code="max_length",
        detail="Ensure this field has no more than 400 characters.",
        attr="template_name",
    )
    long_tag = hedgerow.post(
        _path(hedgerow), json={"template_name": "t", "tiles": TILES, "tags": ["x" * 256]}
    )
    assert_error(long_tag, 400, type="validation_error", code="max_length", attr="tags__0")
    not_list = hedgerow.post(_path(hedgerow), json={"template_name": "t", "tiles": "nope"})
    assert_error(
        not_list,
        400,
        type="validation_error",
        code="not_a_list",
        detail='Expected a list of items but got type "str".',
        attr="tiles",
    )


def test_malformed_json_is_parse_error(hedgerow: HedgerowClient) -> None:
    response = hedgerow.post(
        _path(hedgerow), content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, type="invalid_request", code="parse_error")
    assert response.json()["detail"].startswith("JSON parse error")


def test_list_is_paginated_with_absolute_urls(hedgerow: HedgerowClient) -> None:
    for i in range(3):
        _create(hedgerow, template_name=f"t{i}")
    first = hedgerow.get(_path(hedgerow) + "?limit=2").json()
    assert first["count"] == 5  # 3 of ours + 2 global
    assert len(first["results"]) == 2 and first["previous"] is None
    assert first["next"].startswith("http://testserver/api/projects/")
    assert "limit=2" in first["next"] and "offset=2" in first["next"]
    second = hedgerow.get(first["next"]).json()
    assert second["previous"] is not None and "offset" not in second["previous"]
    last = hedgerow.get(second["next"]).json()
    assert last["next"] is None and len(last["results"]) == 1
    seen = _names(first) + _names(second) + _names(last)
    assert len(set(seen)) == 5


def test_list_shows_own_and_global_but_not_other_projects(hedgerow: HedgerowClient) -> None:
    other = hedgerow.create_project("Other")
    hedgerow.post(_path(hedgerow, project=other.id), json={"template_name": "theirs", "tiles": TILES})
    _create(hedgerow, template_name="ours")
    names = _names(hedgerow.get(_path(hedgerow)).json())
    assert "ours" in names and "theirs" not in names and "Product analytics" in names
    # a query parameter cannot escape the project scoping
    names = _names(hedgerow.get(_path(hedgerow) + f"?team_id={other.id}").json())
    assert "theirs" not in names


def test_scope_parameter(hedgerow: HedgerowClient) -> None:
    _create(hedgerow, template_name="team one")
    flag = _create(hedgerow, template_name="flag one", scope="feature_flag")
    assert set(_names(hedgerow.get(_path(hedgerow) + "?scope=global").json())) == {
        "Product analytics", "Website traffic",
    }  # fmt: skip
    assert _names(hedgerow.get(_path(hedgerow) + "?scope=feature_flag").json()) == ["flag one"]
    assert hedgerow.get(_path(hedgerow, f"{flag['id']}/") + "?scope=global").status_code == 404
    everything = _names(hedgerow.get(_path(hedgerow) + "?scope=whatever").json())
    assert {"team one", "flag one", "Product analytics"} <= set(everything)


def test_search_ranks_name_then_tags_then_description(hedgerow: HedgerowClient) -> None:
    _create(hedgerow, template_name="goat template")
    _create(hedgerow, template_name="described", dashboard_description="description with pony")
    _create(hedgerow, template_name="tagged", tags=["pony"])
    _create(hedgerow, template_name="pony template")
    _create(hedgerow, template_name="tagged ponies template")
    found = _names(hedgerow.get(_path(hedgerow) + "?search=pony").json())
    assert set(found) == {"pony template", "tagged ponies template", "tagged", "described"}
    assert found.index("pony template") < found.index("tagged") < found.index("described")
    assert _names(hedgerow.get(_path(hedgerow) + "?search=goat%20temp").json()) == ["goat template"]
    assert _names(hedgerow.get(_path(hedgerow) + "?search=(pony)%20%26%20goat").json()) == []


def test_patch_updates_and_logs_activity(hedgerow: HedgerowClient) -> None:
    created = _create(hedgerow, template_name="before")
    response = hedgerow.patch(
        _path(hedgerow, f"{created['id']}/"), json={"template_name": "after", "tags": ["x"]}
    )
    assert response.status_code == 200
    assert response.json()["template_name"] == "after" and response.json()["tags"] == ["x"]
    log = hedgerow.get(hedgerow.api("activity_log") + "?scope=DashboardTemplate").json()
    assert [e["activity"] for e in log["results"]] == ["updated", "created"]
    changes = {c["field"]: c for c in log["results"][0]["detail"]["changes"]}
    assert changes["template_name"] == {
        "type": "DashboardTemplate", "action": "changed", "field": "template_name",
        "before": "before", "after": "after",
    }  # fmt: skip
    assert changes["tags"]["action"] == "created"
    assert log["results"][0]["user"] == {"first_name": "admin", "email": hedgerow.init.user_email}


def test_put_behaves_like_patch(hedgerow: HedgerowClient) -> None:
    created = _create(hedgerow)
    response = hedgerow.put(_path(hedgerow, f"{created['id']}/"), json={"dashboard_description": "new"})
    assert response.status_code == 200
    assert response.json()["dashboard_description"] == "new"
    assert response.json()["template_name"] == created["template_name"]


def test_patch_empty_tiles_is_400(hedgerow: HedgerowClient) -> None:
    created = _create(hedgerow)
    response = hedgerow.patch(_path(hedgerow, f"{created['id']}/"), json={"tiles": []})
    assert_error(
        response,
        400,
        type="validation_error",
        code="invalid_input",
        detail="You need to provide tiles for the template.",
    )


def test_scope_can_move_between_team_and_global(hedgerow: HedgerowClient) -> None:
    created = _create(hedgerow)
    path = _path(hedgerow, f"{created['id']}/")
    assert hedgerow.patch(path, json={"scope": "global"}).json()["scope"] == "global"
    assert hedgerow.patch(path, json={"scope": "team"}).json()["scope"] == "team"


def test_original_global_template_cannot_be_made_private(hedgerow: HedgerowClient) -> None:
    body = hedgerow.get(_path(hedgerow) + "?scope=global").json()
    original = body["results"][0]
    response = hedgerow.patch(_path(hedgerow, f"{original['id']}/"), json={"scope": "team"})
    assert_error(
        response,
        400,
        type="validation_error",
        code="invalid_input",
        detail="The original templates cannot be made private as they would be lost.",
    )


def test_soft_delete_hides_the_template(hedgerow: HedgerowClient) -> None:
    created = _create(hedgerow)
    path = _path(hedgerow, f"{created['id']}/")
    deleted = hedgerow.patch(path, json={"deleted": True})
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert_error(hedgerow.get(path), 404, type="invalid_request", code="not_found", detail="Not found.")
    assert created["id"] not in [t["id"] for t in hedgerow.get(_path(hedgerow)).json()["results"]]
    log = hedgerow.get(hedgerow.api("activity_log") + "?scope=DashboardTemplate").json()
    assert log["results"][0]["activity"] == "deleted"


def test_delete_is_405_with_empty_body(hedgerow: HedgerowClient) -> None:
    created = _create(hedgerow)
    response = hedgerow.delete(_path(hedgerow, f"{created['id']}/"))
    assert response.status_code == 405 and response.content == b""
    assert hedgerow.get(_path(hedgerow, f"{created['id']}/")).status_code == 200
    assert hedgerow.delete(_path(hedgerow, "no-such-id/")).status_code == 405


def test_retrieve_unknown_or_foreign_is_404(hedgerow: HedgerowClient) -> None:
    other = hedgerow.create_project("Other")
    theirs = hedgerow.post(
        _path(hedgerow, project=other.id), json={"template_name": "t", "tiles": TILES}
    ).json()
    for template_id in ("nope", theirs["id"]):
        response = hedgerow.get(_path(hedgerow, f"{template_id}/"))
        assert_error(response, 404, type="invalid_request", code="not_found", detail="Not found.")
        patched = hedgerow.patch(_path(hedgerow, f"{template_id}/"), json={"template_name": "x"})
        assert_error(patched, 404, type="invalid_request", code="not_found", detail="Not found.")


def test_json_schema_is_cached_and_validates_templates(hedgerow: HedgerowClient) -> None:
    response = hedgerow.get(_path(hedgerow, "json_schema"))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "max-age=120"
    schema = response.json()
    assert set(schema["required"]) == {"template_name", "dashboard_description", "dashboard_filters", "tiles"}
    shipped = [t for t in hedgerow.get(_path(hedgerow) + "?scope=global").json()["results"]]
    for template in shipped:
        jsonschema.validate(template, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"template_name": "x", "dashboard_description": "", "dashboard_filters": {}, "tiles": []}, schema
        )
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {
                "template_name": "x",
                "dashboard_description": "",
                "dashboard_filters": {},
                "tiles": [{}],
                "variables": [{"id": "V", "type": "event"}],
            },
            schema,
        )


def test_json_route_has_no_txt_renderer(hedgerow: HedgerowClient) -> None:
    assert hedgerow.get(_path(hedgerow) + "?format=json").status_code == 200
    assert_error(hedgerow.get(_path(hedgerow) + "?format=txt"), 404, type="invalid_request", code="not_found")


def test_trailing_slash_is_optional(hedgerow: HedgerowClient) -> None:
    created = _create(hedgerow)
    assert hedgerow.get(_path(hedgerow).rstrip("/")).status_code == 200
    assert hedgerow.get(_path(hedgerow, created["id"])).status_code == 200


def test_only_staff_write_templates(hedgerow: HedgerowClient) -> None:
    """Any write by a user who is not instance staff is refused, whatever the template's scope."""
    ours = _create(hedgerow, template_name="ours")
    key = hedgerow.issue_key(["dashboard_template:write"], email="member@example.com")
    shipped = hedgerow.get(_path(hedgerow) + "?scope=global", key=key).json()["results"][0]
    refused = [
        hedgerow.post(_path(hedgerow), key=key, json={"template_name": "mine", "tiles": TILES}),
        hedgerow.post(
            _path(hedgerow), key=key, json={"template_name": "g", "tiles": TILES, "scope": "global"}
        ),
        hedgerow.patch(_path(hedgerow, f"{ours['id']}/"), key=key, json={"template_name": "mine now"}),
        hedgerow.patch(_path(hedgerow, f"{ours['id']}/"), key=key, json={"deleted": True}),
        hedgerow.put(_path(hedgerow, f"{shipped['id']}/"), key=key, json={"template_name": "mine now"}),
        hedgerow.delete(_path(hedgerow, f"{ours['id']}/"), key=key),
    ]
    for response in refused:
        assert_error(
            response,
            403,
            type="authentication_error",
            code="permission_denied",
            detail="You don't have edit permissions for this dashboard template.",
        )
    assert hedgerow.get(_path(hedgerow, f"{ours['id']}/"), key=key).json()["template_name"] == "ours"
    assert [t["template_name"] for t in hedgerow.get(_path(hedgerow)).json()["results"]].count("mine") == 0


def test_key_without_write_scope_gets_posthog_403(hedgerow: HedgerowClient) -> None:
    key = hedgerow.issue_key(["dashboard_template:read", "dashboard:write"])
    response = hedgerow.post(_path(hedgerow), key=key, json={"template_name": "x", "tiles": TILES})
    assert_error(
        response,
        403,
        type="authentication_error",
        code="permission_denied",
        detail="API key missing required scope 'dashboard_template:write'",
    )
    created = _create(hedgerow)
    patched = hedgerow.patch(_path(hedgerow, f"{created['id']}/"), key=key, json={"template_name": "y"})
    assert_error(
        patched,
        403,
        type="authentication_error",
        code="permission_denied",
        detail="API key missing required scope 'dashboard_template:write'",
    )


def test_created_by_is_a_writable_user_id(hedgerow: HedgerowClient) -> None:
    me = hedgerow.post(hedgerow.api("dashboards"), json={}).json()["created_by"]["id"]
    created = _create(hedgerow, created_by=me)
    assert created["created_by"] == me
    assert hedgerow.get(_path(hedgerow, f"{created['id']}/")).json()["created_by"] == me
    cleared = hedgerow.patch(_path(hedgerow, f"{created['id']}/"), json={"created_by": None})
    assert cleared.status_code == 200 and cleared.json()["created_by"] is None
    unknown = hedgerow.post(_path(hedgerow), json={"template_name": "u", "tiles": TILES, "created_by": 987})
    assert_error(
        unknown,
        400,
        type="validation_error",
        code="does_not_exist",
        detail='Invalid pk "987" - object does not exist.',
        attr="created_by",
    )
    wrong = hedgerow.patch(_path(hedgerow, f"{created['id']}/"), json={"created_by": {"id": me}})
    assert_error(
        wrong,
        400,
        type="validation_error",
        code="incorrect_type",
        detail="Incorrect type. Expected pk value, received dict.",
        attr="created_by",
    )
