"""Actions API: CRUD as PostHog answers it, soft delete, scopes, activity."""

from __future__ import annotations

from typing import Any

from tests.support import HedgerowClient, assert_error

STEP_KEYS = {
    "event",
    "properties",
    "selector",
    "tag_name",
    "text",
    "text_matching",
    "href",
    "href_matching",
    "url",
    "url_matching",
}


def _create(hedgerow: HedgerowClient, **body: Any) -> dict[str, Any]:
    response = hedgerow.post(hedgerow.api("actions"), json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_create_returns_the_full_action(hedgerow: HedgerowClient) -> None:
    body = _create(
        hedgerow,
        name="Signed up",
        description="from the pricing page",
        steps=[
            {
                "event": "$pageview",
                "url": "/pricing",
                "properties": [{"key": "plan", "value": "pro", "operator": "exact", "type": "event"}],
            },
            {"event": "signup", "url": "^https://x/", "url_matching": "regex"},
        ],
    )
    assert body["name"] == "Signed up"
    assert body["description"] == "from the pricing page"
    assert body["deleted"] is False and body["is_action"] is True and body["is_calculating"] is False
    assert body["team_id"] == hedgerow.project_id
    assert body["created_by"]["email"] == hedgerow.init.user_email
    assert body["created_at"].endswith("Z")
    assert [set(s) for s in body["steps"]] == [STEP_KEYS, STEP_KEYS]
    assert body["steps"][0]["url_matching"] == "contains"
    assert body["steps"][0]["properties"] == [
        {"key": "plan", "value": "pro", "operator": "exact", "type": "event"}
    ]
    assert body["steps"][1]["url_matching"] == "regex"
    fetched = hedgerow.get(hedgerow.api("actions") + f"{body['id']}/")
    assert fetched.status_code == 200 and fetched.json() == body


def test_invalid_url_matching_names_the_step_field(hedgerow: HedgerowClient) -> None:
    response = hedgerow.post(
        hedgerow.api("actions"), json={"name": "a", "steps": [{"event": "x", "url_matching": "glob"}]}
    )
    assert_error(
        response,
        400,
        type="validation_error",
        code="invalid_choice",
        detail='"glob" is not a valid choice.',
        attr="steps__0__url_matching",
    )


def test_duplicate_name_is_refused_until_the_first_is_deleted(hedgerow: HedgerowClient) -> None:
    first = _create(hedgerow, name="Dup", steps=[{"event": "a"}])
    response = hedgerow.post(hedgerow.api("actions"), json={"name": "Dup", "steps": [{"event": "b"}]})
    assert_error(
        response,
        400,
        type="validation_error",
        code="unique",
        detail=f"This project already has an action with this name, ID {first['id']}",
        attr="name",
    )
    assert (
        hedgerow.patch(hedgerow.api("actions") + f"{first['id']}/", json={"deleted": True}).status_code == 200
    )
    assert hedgerow.post(hedgerow.api("actions"), json={"name": "Dup"}).status_code == 201


def test_list_hides_deleted_and_pages(hedgerow: HedgerowClient) -> None:
    ids = [_create(hedgerow, name=f"a{i}", steps=[{"event": "e"}])["id"] for i in range(3)]
    hedgerow.patch(hedgerow.api("actions") + f"{ids[1]}/", json={"deleted": True})
    page = hedgerow.get(hedgerow.api("actions") + "?limit=1").json()
    assert page["count"] == 2
    assert [r["id"] for r in page["results"]] == [ids[0]]
    assert page["next"].endswith("limit=1&offset=1") and page["previous"] is None
    # A deleted action is still retrievable by id.
    deleted = hedgerow.get(hedgerow.api("actions") + f"{ids[1]}/").json()
    assert deleted["deleted"] is True


def test_patch_changes_only_what_is_sent_and_logs_activity(hedgerow: HedgerowClient) -> None:
    action = _create(hedgerow, name="Old", description="d", steps=[{"event": "a"}])
    path = hedgerow.api("actions") + f"{action['id']}/"
    updated = hedgerow.patch(path, json={"name": "New", "steps": [{"event": "b", "url": "/x"}]}).json()
    assert updated["name"] == "New" and updated["description"] == "d"
    assert updated["steps"][0]["event"] == "b" and updated["steps"][0]["url"] == "/x"
    hedgerow.patch(path, json={"deleted": True})
    log = hedgerow.get(hedgerow.api("activity_log") + "?scope=Action").json()
    assert [e["activity"] for e in log["results"]] == ["deleted", "updated", "created"]
    changed = {c["field"] for c in log["results"][1]["detail"]["changes"]}
    assert changed == {"name", "steps"}
    assert log["results"][1]["item_id"] == str(action["id"])


def test_delete_is_405_with_empty_body(hedgerow: HedgerowClient) -> None:
    action = _create(hedgerow, name="x")
    response = hedgerow.delete(hedgerow.api("actions") + f"{action['id']}/")
    assert response.status_code == 405 and response.content == b""
    assert hedgerow.get(hedgerow.api("actions") + f"{action['id']}/").json()["deleted"] is False


def test_scopes_action_read_and_write(hedgerow: HedgerowClient) -> None:
    reader = hedgerow.issue_key(["action:read"])
    assert hedgerow.get(hedgerow.api("actions"), key=reader).status_code == 200
    assert_error(
        hedgerow.post(hedgerow.api("actions"), key=reader, json={"name": "x"}),
        403,
        type="authentication_error",
        code="permission_denied",
        detail="API key missing required scope 'action:write'",
    )
    other = hedgerow.issue_key(["cohort:read"])
    assert_error(
        hedgerow.get(hedgerow.api("actions"), key=other),
        403,
        type="authentication_error",
        code="permission_denied",
        detail="API key missing required scope 'action:read'",
    )


def test_unknown_and_foreign_actions_are_404(hedgerow: HedgerowClient) -> None:
    other = hedgerow.create_project("Other")
    foreign = hedgerow.post(hedgerow.api("actions", other.id), json={"name": "f"})
    assert foreign.status_code == 201, foreign.text
    for path in (f"{foreign.json()['id']}/", "999/", "abc/"):
        assert_error(
            hedgerow.get(hedgerow.api("actions") + path),
            404,
            type="invalid_request",
            code="not_found",
            detail="Not found.",
        )
