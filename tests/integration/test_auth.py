"""Personal API key authentication and scopes, as cohorts.md §0.2 describes them."""

from __future__ import annotations

import pytest

from tests.support import HedgerowClient, assert_error

TEMPLATES = "dashboard_templates"


def test_no_credentials_is_401_not_authenticated(hedgerow: HedgerowClient) -> None:
    response = hedgerow.get(hedgerow.api(TEMPLATES), auth=False)
    assert_error(
        response,
        401,
        type="authentication_error",
        code="not_authenticated",
        detail="Authentication credentials were not provided.",
    )
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("how", "source"),
    [("header", "Authorization header"), ("query", "query string"), ("body", "body")],
)
def test_unknown_key_names_where_it_was_found(hedgerow: HedgerowClient, how: str, source: str) -> None:
    path = hedgerow.api(TEMPLATES)
    if how == "header":
        response = hedgerow.get(path, key="phx_unknown")
    elif how == "query":
        response = hedgerow.get(path + "?personal_api_key=phx_unknown", auth=False)
    else:
        response = hedgerow.post(path, auth=False, json={"personal_api_key": "phx_unknown", "tiles": [{}]})
    assert_error(
        response,
        401,
        type="authentication_error",
        code="authentication_failed",
        detail=f"Personal API key found in request {source} is invalid.",
    )


def test_key_in_query_string_and_body_authenticate(hedgerow: HedgerowClient) -> None:
    path = hedgerow.api(TEMPLATES)
    assert hedgerow.get(f"{path}?personal_api_key={hedgerow.key}", auth=False).status_code == 200
    created = hedgerow.post(
        path,
        auth=False,
        json={
            "personal_api_key": hedgerow.key,
            "template_name": "b",
            "tiles": [{"type": "TEXT", "body": "x"}],
        },
    )
    assert created.status_code == 201, created.text


def test_missing_scope_is_403_naming_the_first_missing_scope(hedgerow: HedgerowClient) -> None:
    key = hedgerow.issue_key(["cohort:read"])
    response = hedgerow.get(hedgerow.api(TEMPLATES), key=key)
    assert_error(
        response,
        403,
        type="authentication_error",
        code="permission_denied",
        detail="API key missing required scope 'dashboard_template:read'",
    )


def test_read_scope_does_not_allow_writes(hedgerow: HedgerowClient) -> None:
    key = hedgerow.issue_key(["dashboard_template:read"])
    assert hedgerow.get(hedgerow.api(TEMPLATES), key=key).status_code == 200
    response = hedgerow.post(hedgerow.api(TEMPLATES), key=key, json={"tiles": [{}]})
    assert_error(
        response,
        403,
        type="authentication_error",
        code="permission_denied",
        detail="API key missing required scope 'dashboard_template:write'",
    )
    delete = hedgerow.delete(hedgerow.api(TEMPLATES) + "anything/", key=key)
    assert_error(
        delete,
        403,
        type="authentication_error",
        code="permission_denied",
        detail="API key missing required scope 'dashboard_template:write'",
    )


def test_write_scope_satisfies_read(hedgerow: HedgerowClient) -> None:
    key = hedgerow.issue_key(["dashboard_template:write"])
    assert hedgerow.get(hedgerow.api(TEMPLATES), key=key).status_code == 200


def test_legacy_key_without_scopes_may_do_everything(hedgerow: HedgerowClient) -> None:
    key = hedgerow.issue_key([])
    assert hedgerow.get(hedgerow.api(TEMPLATES), key=key).status_code == 200


def test_key_limited_to_projects(hedgerow: HedgerowClient) -> None:
    other = hedgerow.create_project("Second")
    key = hedgerow.issue_key(["*"], projects_ids=[hedgerow.project_id])
    assert hedgerow.get(hedgerow.api(TEMPLATES), key=key).status_code == 200
    response = hedgerow.get(hedgerow.api(TEMPLATES, other.id), key=key)
    assert_error(
        response,
        403,
        type="authentication_error",
        code="permission_denied",
        detail=f"API key does not have access to the requested project: ID {other.id}.",
    )


def test_current_project_alias(hedgerow: HedgerowClient) -> None:
    response = hedgerow.get(hedgerow.api(TEMPLATES, "@current"))
    assert response.status_code == 200


@pytest.mark.parametrize("project", ["abc", "999"])
def test_unknown_project_is_404(hedgerow: HedgerowClient, project: str) -> None:
    assert_error(
        hedgerow.get(hedgerow.api(TEMPLATES, project)),
        404,
        type="invalid_request",
        code="not_found",
        detail="Project not found.",
    )


def test_project_of_another_organization_is_403(hedgerow: HedgerowClient) -> None:
    from hedgerow.db.session import transaction
    from hedgerow.domain.projects.models import Organization, Project

    with transaction(hedgerow.app.state.sessionmaker) as session:
        session.add(Organization(id="00000000-0000-0000-0000-00000000beef", name="Elsewhere"))
        session.flush()
        foreign = Project(organization_id="00000000-0000-0000-0000-00000000beef", name="x", api_token="phc_x")
        session.add(foreign)
        session.flush()
        foreign_id = foreign.id
    assert_error(
        hedgerow.get(hedgerow.api(TEMPLATES, foreign_id)),
        403,
        type="authentication_error",
        code="permission_denied",
        detail="You don't have access to the project.",
    )


def test_last_used_at_is_recorded(hedgerow: HedgerowClient) -> None:
    from sqlalchemy import select

    from hedgerow.db.session import transaction
    from hedgerow.domain.projects.models import PersonalAPIKey

    hedgerow.get(hedgerow.api(TEMPLATES))
    with transaction(hedgerow.app.state.sessionmaker) as session:
        used = session.scalars(select(PersonalAPIKey.last_used_at)).all()
    assert any(value is not None for value in used)


def test_options_describes_a_route_to_a_key_that_may_read_it(hedgerow: HedgerowClient) -> None:
    # dashboards-templates-sharing.md §1.6: any OPTIONS request needs `<object>:read`.
    reader = hedgerow.issue_key(["dashboard:read"])
    for path in (hedgerow.api("dashboards/"), hedgerow.api("dashboards/"), hedgerow.api(TEMPLATES)):
        response = hedgerow.request("OPTIONS", path, key=reader if "dashboards" in path else None)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"name", "description", "renders", "parses"}
        assert "application/json" in body["parses"]
    refused = hedgerow.request("OPTIONS", hedgerow.api(TEMPLATES), key=reader)
    assert_error(
        refused,
        403,
        type="authentication_error",
        code="permission_denied",
        detail="API key missing required scope 'dashboard_template:read'",
    )
    assert hedgerow.request("OPTIONS", hedgerow.api("dashboards/"), auth=False).status_code == 401


def test_head_answers_as_get_without_a_body(hedgerow: HedgerowClient) -> None:
    get = hedgerow.get(hedgerow.api(TEMPLATES))
    head = hedgerow.request("HEAD", hedgerow.api(TEMPLATES))
    assert head.status_code == 200 == get.status_code
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    reader = hedgerow.issue_key(["cohort:read"])
    assert hedgerow.request("HEAD", hedgerow.api(TEMPLATES), key=reader).status_code == 403
