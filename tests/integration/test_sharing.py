"""Sharing a dashboard: configuration, token rotation, passwords, and the public /shared/ views."""

from __future__ import annotations

import json
import struct
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hedgerow.api.templates.charts import PALETTE
from hedgerow.domain.sharing import service as sharing_service
from hedgerow.store.base import EventRow
from tests.support import HedgerowClient, assert_error

SHARING_KEYS = ["created_at", "enabled", "access_token", "settings", "password_required", "share_passwords"]
QUERY = {
    "kind": "InsightVizNode",
    "source": {
        "kind": "TrendsQuery",
        "series": [{"kind": "EventsNode", "event": "$pageview", "name": "$pageview"}],
        "interval": "day",
        "dateRange": {"date_from": "2012-01-12", "date_to": "2012-01-15"},
    },
}


def sharing(hedgerow: HedgerowClient, dashboard_id: int) -> str:
    return hedgerow.api("dashboards") + f"{dashboard_id}/sharing/"


def dashboard(
    hedgerow: HedgerowClient, name: str = "Shared", project_id: int | None = None
) -> dict[str, Any]:
    response = hedgerow.post(hedgerow.api("dashboards", project_id), json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()


def enable(hedgerow: HedgerowClient, dashboard_id: int, **extra: Any) -> dict[str, Any]:
    response = hedgerow.patch(sharing(hedgerow, dashboard_id), json={"enabled": True, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def seed_pageviews(hedgerow: HedgerowClient) -> None:
    rows = []
    for day, count in ((13, 2), (14, 3), (15, 1)):
        for i in range(count):
            moment = datetime(2012, 1, day, 10, i, tzinfo=UTC)
            rows.append(
                EventRow(
                    uuid=str(uuid.uuid4()),
                    project_id=hedgerow.project_id,
                    event="$pageview",
                    distinct_id=f"u{i}",
                    person_id=str(uuid.UUID(int=i + 1)),
                    properties="{}",
                    timestamp=moment,
                    created_at=moment,
                )
            )
    hedgerow.app.state.store.append_events(rows)


@pytest.fixture
def shared(hedgerow: HedgerowClient) -> dict[str, Any]:
    """A dashboard with a trends tile and a text tile, shared; another dashboard's insight too."""
    seed_pageviews(hedgerow)
    board = dashboard(hedgerow)
    other = dashboard(hedgerow, "Private")
    tile_insight = hedgerow.post(
        hedgerow.api("insights"), json={"name": "Pageviews", "query": QUERY, "dashboards": [board["id"]]}
    ).json()
    secret = hedgerow.post(
        hedgerow.api("insights"), json={"name": "Secret", "query": QUERY, "dashboards": [other["id"]]}
    ).json()
    hedgerow.patch(
        hedgerow.api("dashboards") + f"{board['id']}/", json={"tiles": [{"text": {"body": "# Hello *team*"}}]}
    )
    config = enable(hedgerow, board["id"])
    return {"dashboard": board, "other": other, "insight": tile_insight, "secret": secret, "config": config}


def test_get_returns_one_unsaved_object_with_a_fresh_token_each_time(hedgerow: HedgerowClient) -> None:
    board = dashboard(hedgerow)
    first = hedgerow.get(sharing(hedgerow, board["id"]))
    assert first.status_code == 200
    body = first.json()
    assert list(body) == SHARING_KEYS
    assert body["created_at"] is None and body["enabled"] is False and body["settings"] is None
    assert body["password_required"] is False and body["share_passwords"] == []
    assert len(body["access_token"]) >= 22
    assert hedgerow.get(sharing(hedgerow, board["id"])).json()["access_token"] != body["access_token"]
    assert_error(
        hedgerow.get(sharing(hedgerow, 99999)),
        404,
        type="invalid_request",
        code="not_found",
        detail="Dashboard not found.",
    )
    assert_error(
        hedgerow.post(sharing(hedgerow, board["id"]), json={}),
        405,
        type="invalid_request",
        code="method_not_allowed",
        detail='Method "POST" not allowed.',
    )


def test_patch_enables_keeps_the_token_and_marks_the_dashboard_shared(hedgerow: HedgerowClient) -> None:
    board = dashboard(hedgerow)
    body = enable(hedgerow, board["id"])
    assert body["enabled"] is True and body["created_at"].endswith("Z")
    token = body["access_token"]
    off = hedgerow.patch(sharing(hedgerow, board["id"]), json={"enabled": False}).json()
    assert off["access_token"] == token and off["enabled"] is False
    assert enable(hedgerow, board["id"])["access_token"] == token
    assert hedgerow.get(hedgerow.api("dashboards") + f"{board['id']}/").json()["is_shared"] is True
    listed = hedgerow.get(hedgerow.api("dashboards")).json()["results"]
    assert listed[0]["is_shared"] is True


def test_settings_are_cleaned_and_validated(hedgerow: HedgerowClient) -> None:
    board = dashboard(hedgerow)
    body = enable(hedgerow, board["id"], settings={"noHeader": True, "legend": None, "bogus": 1})
    assert body["settings"] == {"noHeader": True}
    assert enable(hedgerow, board["id"], settings={})["settings"] == {}
    assert enable(hedgerow, board["id"], settings=None)["settings"] is None
    assert_error(
        hedgerow.patch(sharing(hedgerow, board["id"]), json={"settings": "x"}),
        400,
        type="validation_error",
        code="invalid_input",
        detail="Invalid settings format",
        attr="settings",
    )


def test_settings_are_booleans(hedgerow: HedgerowClient) -> None:
    board = dashboard(hedgerow)
    body = enable(hedgerow, board["id"], settings={"noHeader": "true", "legend": 0, "detailed": "yes"})
    assert body["settings"] == {"noHeader": True, "legend": False, "detailed": True}
    for bad in ({"whitelabel": "maybe"}, {"showInspector": [True]}, {"hideExtraDetails": 2}):
        assert_error(
            hedgerow.patch(sharing(hedgerow, board["id"]), json={"settings": bad}),
            400,
            type="validation_error",
            code="invalid_input",
            detail="Invalid settings format",
            attr="settings",
        )
    assert hedgerow.get(sharing(hedgerow, board["id"])).json()["settings"] == body["settings"]


def test_scopes(hedgerow: HedgerowClient) -> None:
    board = dashboard(hedgerow)
    reader = hedgerow.issue_key(["sharing_configuration:read"])
    assert hedgerow.get(sharing(hedgerow, board["id"]), key=reader).status_code == 200
    for key in (reader, hedgerow.issue_key(["dashboard:write"])):
        response = hedgerow.patch(sharing(hedgerow, board["id"]), key=key, json={"enabled": True})
        assert response.status_code == 403
    assert_error(
        hedgerow.post(sharing(hedgerow, board["id"]) + "refresh/", key=reader),
        403,
        type="authentication_error",
        code="permission_denied",
        detail="API key missing required scope 'sharing_configuration:write'",
    )
    writer = hedgerow.issue_key(["sharing_configuration:write"])
    assert (
        hedgerow.patch(sharing(hedgerow, board["id"]), key=writer, json={"enabled": True}).status_code == 200
    )


def test_public_json_shows_that_dashboard_with_results(
    hedgerow: HedgerowClient, shared: dict[str, Any]
) -> None:
    token = shared["config"]["access_token"]
    response = hedgerow.get(f"/shared/{token}.json", auth=False)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["type"] == "scene" and data["accessToken"] == token and data["themes"] == []
    board = data["dashboard"]
    assert board["id"] == shared["dashboard"]["id"] and board["is_shared"] is True
    assert board["effective_privilege_level"] == 21 and board["user_access_level"] is None
    insight_tile = next(t for t in board["tiles"] if t["insight"])
    result = insight_tile["insight"]["result"]
    assert [(s["label"], s["data"], s["days"]) for s in result] == [
        ("$pageview", [0, 2, 3, 1], ["2012-01-12", "2012-01-13", "2012-01-14", "2012-01-15"])
    ]
    assert insight_tile["last_refresh"] is not None
    assert next(t for t in board["tiles"] if t["text"])["text"]["body"] == "# Hello *team*"
    text = json.dumps(data)
    assert "Secret" not in text and str(shared["other"]["id"]) != str(board["id"])
    embedded = hedgerow.get(f"/embedded/{token}.json", auth=False).json()
    assert embedded["type"] == "embed"


def test_public_html_page(hedgerow: HedgerowClient, shared: dict[str, Any]) -> None:
    token = shared["config"]["access_token"]
    response = hedgerow.get(f"/shared/{token}", auth=False)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<h1>Hello <em>team</em></h1>" in page
    assert 'data-values="0,2,3,1"' in page and "<svg" in page
    assert "window.POSTHOG_EXPORTED_DATA" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    hedgerow.patch(
        hedgerow.api("dashboards") + f"{shared['dashboard']['id']}/",
        json={"tiles": [{"text": {"body": "<script>alert(1)</script>"}}]},
    )
    assert "<script>alert(1)</script>" not in hedgerow.get(f"/shared/{token}", auth=False).text


def _decode_png(body: bytes) -> tuple[int, int, bytes]:
    """(width, height, RGB pixels) of an 8-bit RGB PNG whose rows use no filter."""
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    while position < len(body):
        (length,) = struct.unpack(">I", body[position : position + 4])
        kind = body[position + 4 : position + 8]
        chunks[kind] = chunks.get(kind, b"") + body[position + 8 : position + 8 + length]
        position += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour_type) == (8, 2) and b"IEND" in chunks
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = width * 3 + 1
    assert all(raw[row * stride] == 0 for row in range(height))
    return width, height, b"".join(raw[row * stride + 1 : (row + 1) * stride] for row in range(height))


def test_public_png_draws_the_dashboard(hedgerow: HedgerowClient, shared: dict[str, Any]) -> None:
    token = shared["config"]["access_token"]
    response = hedgerow.get(f"/shared/{token}.png", auth=False)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    width, height, pixels = _decode_png(response.content)
    assert width == 1200 and height > 200
    colours = {pixels[i : i + 3] for i in range(0, len(pixels), 3)}
    # The insight's series is drawn in the first chart colour, as on the HTML page.
    assert bytes.fromhex(PALETTE[0].lstrip("#")) in colours
    # A dashboard with no insight results has no series drawn.
    empty = dashboard(hedgerow, "Empty")
    blank = enable(hedgerow, empty["id"])["access_token"]
    _, _, pixels = _decode_png(hedgerow.get(f"/shared/{blank}.png", auth=False).content)
    assert bytes.fromhex(PALETTE[0].lstrip("#")) not in {pixels[i : i + 3] for i in range(0, len(pixels), 3)}
    assert hedgerow.get("/shared/nope.png", auth=False).status_code == 404


def test_unknown_disabled_and_deleted(hedgerow: HedgerowClient, shared: dict[str, Any]) -> None:
    token = shared["config"]["access_token"]
    for path in ("/shared/nope", "/shared/nope.json", "/shared/nope.png", f"/shared/{token}.pdf"):
        missing = hedgerow.get(path, auth=False)
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    hedgerow.patch(sharing(hedgerow, shared["dashboard"]["id"]), json={"enabled": False})
    assert hedgerow.get(f"/shared/{token}", auth=False).status_code == 404
    assert hedgerow.get(f"/shared/{token}.png", auth=False).status_code == 404
    enable(hedgerow, shared["dashboard"]["id"])
    assert hedgerow.get(f"/shared/{token}.json", auth=False).status_code == 200
    hedgerow.patch(hedgerow.api("dashboards") + f"{shared['dashboard']['id']}/", json={"deleted": True})
    assert_error(
        hedgerow.get(f"/shared/{token}.json", auth=False),
        404,
        type="invalid_request",
        code="not_found",
        detail="No resource found",
    )


def test_a_token_reaches_nothing_else(hedgerow: HedgerowClient, shared: dict[str, Any]) -> None:
    token = shared["config"]["access_token"]
    other = hedgerow.api("dashboards") + f"{shared['other']['id']}/"
    mine = hedgerow.api("dashboards") + f"{shared['dashboard']['id']}/"
    secret = hedgerow.api("insights") + f"{shared['secret']['id']}/"
    # The dashboards API does not take sharing tokens at all; the insights API only for shared tiles.
    assert hedgerow.get(f"{secret}?sharing_access_token={token}", auth=False).status_code == 404
    assert hedgerow.get(secret, headers={"Authorization": f"Bearer {token}"}, auth=False).status_code == 401
    for path in (other, mine):
        assert_error(
            hedgerow.get(f"{path}?sharing_access_token={token}", auth=False),
            401,
            type="authentication_error",
            code="not_authenticated",
        )
        assert hedgerow.get(path, headers={"Authorization": f"Bearer {token}"}, auth=False).status_code == 401
    elsewhere = hedgerow.create_project("Elsewhere")
    assert (
        hedgerow.get(
            f"/api/projects/{elsewhere.id}/dashboards/?sharing_access_token={token}", auth=False
        ).status_code
        == 401
    )
    # Removing a tile removes it from the share; the insight on the other dashboard never shows.
    tile = next(t for t in hedgerow.get(mine).json()["tiles"] if t["insight"])
    hedgerow.patch(mine, json={"tiles": [{"id": tile["id"], "deleted": True}]})
    removed = hedgerow.api("insights") + f"{tile['insight']['id']}/?sharing_access_token={token}"
    assert hedgerow.get(removed, auth=False).status_code == 404
    data = hedgerow.get(f"/shared/{token}.json", auth=False).json()
    assert [t["insight"] for t in data["dashboard"]["tiles"]] == [None]


def test_refresh_rotates_and_the_old_token_has_five_minutes(
    hedgerow: HedgerowClient, shared: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    board_id = shared["dashboard"]["id"]
    old = shared["config"]["access_token"]
    rotated = hedgerow.post(sharing(hedgerow, board_id) + "refresh/")
    assert rotated.status_code == 200
    new = rotated.json()["access_token"]
    assert new != old and rotated.json()["enabled"] is True
    assert hedgerow.get(sharing(hedgerow, board_id)).json()["access_token"] == new
    assert hedgerow.get(f"/shared/{old}.json", auth=False).status_code == 200
    start = datetime.now(UTC)
    monkeypatch.setattr(sharing_service, "utcnow", lambda: start + timedelta(minutes=4))
    assert hedgerow.get(f"/shared/{old}.json", auth=False).status_code == 200
    monkeypatch.setattr(sharing_service, "utcnow", lambda: start + timedelta(minutes=6))
    assert hedgerow.get(f"/shared/{old}.json", auth=False).status_code == 404
    assert hedgerow.get(f"/shared/{new}.json", auth=False).status_code == 200


def test_passwords(hedgerow: HedgerowClient, shared: dict[str, Any]) -> None:
    board_id = shared["dashboard"]["id"]
    token = shared["config"]["access_token"]
    passwords = sharing(hedgerow, board_id) + "passwords/"
    early = hedgerow.post(passwords, json={"raw_password": "longenough"})
    assert early.status_code == 400
    assert early.json() == {"error": "Password protection must be enabled before creating passwords"}
    enable(hedgerow, board_id, password_required=True)
    assert_error(
        hedgerow.post(passwords, json={"raw_password": "short"}),
        400,
        type="validation_error",
        code="invalid_input",
        detail="Password must be at least 8 characters long.",
        attr="raw_password",
    )
    created = hedgerow.post(passwords, json={"raw_password": "correct horse", "note": "for the board"})
    assert created.status_code == 201
    body = created.json()
    assert list(body) == ["id", "password", "note", "created_at", "created_by_email"]
    assert body["password"] == "correct horse" and body["created_by_email"] == "admin@hedgerow.local"
    generated = hedgerow.post(passwords, json={}).json()
    assert len(generated["password"]) >= 16
    listed = hedgerow.get(sharing(hedgerow, board_id)).json()["share_passwords"]
    assert [p["id"] for p in listed] == [generated["id"], body["id"]]
    assert set(listed[0]) == {"id", "created_at", "note", "created_by_email", "is_active"}

    locked = hedgerow.get(f"/shared/{token}", auth=False)
    assert (
        locked.status_code == 200 and "password protected" in locked.text and "data-values" not in locked.text
    )
    assert hedgerow.get(f"/shared/{token}.json", auth=False).json() == {"type": "unlock"}
    wrong = hedgerow.post(f"/shared/{token}", auth=False, json={"password": "nope"})
    assert wrong.status_code == 401 and wrong.json() == {"error": "Incorrect password"}
    right = hedgerow.post(f"/shared/{token}", auth=False, json={"password": "correct horse"})
    assert right.status_code == 200
    jwt = right.json()["shareToken"]
    cookie = right.headers["set-cookie"]
    assert "posthog_sharing_token=" in cookie and "HttpOnly" in cookie and "Max-Age=86400" in cookie
    assert f"Path=/shared/{token}" in cookie
    bearer = {"Authorization": f"Bearer {jwt}", "Accept": "application/json"}
    opened = hedgerow.get(f"/shared/{token}", auth=False, headers=bearer)
    assert opened.status_code == 200 and opened.json()["dashboard"]["id"] == board_id
    assert opened.json()["shareToken"] == jwt
    # A password token opens only the share it was minted for.
    other_config = enable(hedgerow, shared["other"]["id"], password_required=True)
    hedgerow.post(
        sharing(hedgerow, shared["other"]["id"]) + "passwords/", json={"raw_password": "another one"}
    )
    assert hedgerow.get(f"/shared/{other_config['access_token']}", auth=False, headers=bearer).json() == {
        "type": "unlock"
    }
    entries = hedgerow.get(f"/api/projects/{hedgerow.project_id}/activity_log/?scope=Dashboard").json()[
        "results"
    ]
    assert [e["activity"] for e in entries[:2]] == ["share_login_success", "share_login_failed"]

    gone = hedgerow.delete(passwords + f"{body['id']}/")
    assert gone.status_code == 204
    assert hedgerow.get(f"/shared/{token}", auth=False, headers=bearer).json() == {"type": "unlock"}
    assert_error(
        hedgerow.delete(passwords + f"{body['id']}/"),
        404,
        type="invalid_request",
        code="not_found",
        detail="Password not found",
    )
    assert [p["id"] for p in hedgerow.get(sharing(hedgerow, board_id)).json()["share_passwords"]] == [
        generated["id"]
    ]


def test_sharing_token_reads_only_the_shared_dashboards_insights(
    hedgerow: HedgerowClient, shared: dict[str, Any]
) -> None:
    token = shared["config"]["access_token"]
    insights = hedgerow.api("insights")
    mine, secret = shared["insight"]["id"], shared["secret"]["id"]
    listed = hedgerow.get(f"{insights}?sharing_access_token={token}", auth=False)
    assert listed.status_code == 200, listed.text
    assert [r["id"] for r in listed.json()["results"]] == [mine]
    one = hedgerow.get(f"{insights}{mine}/?sharing_access_token={token}&refresh=force_cache", auth=False)
    assert one.status_code == 200
    body = one.json()
    # Shared reads compute what is missing, and show the viewer as read-only.
    assert body["result"][0]["data"] == [0, 2, 3, 1]
    assert body["effective_privilege_level"] == 21 and body["user_access_level"] is None
    assert_error(
        hedgerow.get(f"{insights}{secret}/?sharing_access_token={token}", auth=False),
        404,
        type="invalid_request",
        code="not_found",
    )
    assert_error(
        hedgerow.patch(f"{insights}{mine}/?sharing_access_token={token}", auth=False, json={"name": "x"}),
        401,
        type="authentication_error",
        code="authentication_failed",
        detail="Sharing access token can only be used for GET requests.",
    )
    assert_error(
        hedgerow.get(f"{insights}?sharing_access_token=wrong", auth=False),
        401,
        type="authentication_error",
        code="authentication_failed",
        detail="Sharing access token is invalid.",
    )
    elsewhere = hedgerow.create_project("Elsewhere")
    assert_error(
        hedgerow.get(f"{hedgerow.api('insights', elsewhere.id)}?sharing_access_token={token}", auth=False),
        403,
        type="authentication_error",
        code="permission_denied",
        detail="You don't have access to the project.",
    )
    hedgerow.patch(sharing(hedgerow, shared["dashboard"]["id"]), json={"enabled": False})
    assert hedgerow.get(f"{insights}{mine}/?sharing_access_token={token}", auth=False).status_code == 401
