"""Insight actions besides CRUD (insights spec §2.8): viewed, my_last_viewed, trending, cancel, and the
legacy `/api/insight/` path; the scopes of §2.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from hedgerow.db.session import transaction
from hedgerow.domain.insights.models import InsightViewed
from tests.integration.test_insights import BASIC_KEYS, INS, create, query
from tests.support import HedgerowClient, assert_error

UNSUPPORTED = "This action does not support Personal API Key access"


def viewed(hedgerow: HedgerowClient, *ids: int, key: str | None = None) -> None:
    response = hedgerow.post(hedgerow.api(INS) + "viewed/", json={"insight_ids": list(ids)}, key=key)
    assert response.status_code == 201, response.text
    assert response.content == b""


def last_viewed(hedgerow: HedgerowClient, key: str | None = None) -> list[int]:
    response = hedgerow.get(hedgerow.api(INS) + "my_last_viewed/", key=key)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()]


def test_my_last_viewed_lists_the_requesters_views_newest_first(hedgerow: HedgerowClient) -> None:
    ids = [create(hedgerow, name=f"i{n}", query=query())["id"] for n in range(7)]
    other = hedgerow.issue_key(["*"], email="other@example.com")
    # Creating counts as a view by the creator; later views move an insight to the front.
    assert last_viewed(hedgerow) == list(reversed(ids))[:5]
    assert last_viewed(hedgerow, key=other) == []
    viewed(hedgerow, ids[0])
    viewed(hedgerow, ids[2], key=other)
    assert last_viewed(hedgerow)[0] == ids[0]
    assert last_viewed(hedgerow, key=other) == [ids[2]]
    body = hedgerow.get(hedgerow.api(INS) + "my_last_viewed/").json()
    assert isinstance(body, list) and len(body) == 5 and set(body[0]) == BASIC_KEYS
    # Deleted insights are no longer listed.
    hedgerow.patch(hedgerow.api(INS) + f"{ids[0]}/", json={"deleted": True})
    assert ids[0] not in last_viewed(hedgerow)


def test_viewing_one_insight_by_its_own_path(hedgerow: HedgerowClient) -> None:
    first, second = (create(hedgerow, name=n, query=query())["id"] for n in ("a", "b"))
    response = hedgerow.post(hedgerow.api(INS) + f"{first}/viewed/")
    assert response.status_code == 201 and response.content == b""
    assert last_viewed(hedgerow)[:2] == [first, second]


def test_viewing_an_insight_of_another_project_or_an_unknown_one_is_404(hedgerow: HedgerowClient) -> None:
    other = hedgerow.create_project("Other")
    theirs = hedgerow.post(hedgerow.api(INS, other.id), json={"name": "theirs"}).json()["id"]
    mine = create(hedgerow, name="mine")["id"]
    for ids in ([theirs], [mine, theirs], [99999]):
        response = hedgerow.post(hedgerow.api(INS) + "viewed/", json={"insight_ids": ids})
        assert_error(response, 404, type="invalid_request", code="not_found")
    response = hedgerow.post(hedgerow.api(INS) + f"{theirs}/viewed/")
    assert_error(response, 404, type="invalid_request", code="not_found")


def test_viewed_needs_a_list_of_insight_ids(hedgerow: HedgerowClient) -> None:
    response = hedgerow.post(hedgerow.api(INS) + "viewed/", json={})
    assert_error(response, 400, type="validation_error", code="required", attr="insight_ids")


def test_viewed_needs_insight_read_and_the_undeclared_actions_refuse_scoped_keys(
    hedgerow: HedgerowClient,
) -> None:
    made = create(hedgerow, name="x")["id"]
    reader = hedgerow.issue_key(["insight:read"])
    viewed(hedgerow, made, key=reader)
    no_insight = hedgerow.issue_key(["dashboard:read"])
    assert_error(
        hedgerow.post(hedgerow.api(INS) + "viewed/", json={"insight_ids": [made]}, key=no_insight),
        403,
        type="authentication_error",
        code="permission_denied",
        detail="API key missing required scope 'insight:read'",
    )
    for method, action, body in (
        ("GET", "my_last_viewed/", None),
        ("GET", "trending/", None),
        ("POST", "cancel/", {"client_query_id": "abc"}),
        ("POST", "timing/", {"insight": "TRENDS", "success": True}),
    ):
        assert_error(
            hedgerow.request(method, hedgerow.api(INS) + action, key=reader, json=body),
            403,
            type="authentication_error",
            code="permission_denied",
            detail=UNSUPPORTED,
        )
    legacy = hedgerow.issue_key([])
    assert hedgerow.get(hedgerow.api(INS) + "my_last_viewed/", key=legacy).status_code == 200


def test_timing_reports_are_accepted(hedgerow: HedgerowClient) -> None:
    response = hedgerow.post(hedgerow.api(INS) + "timing/", json={"insight": "TRENDS", "success": True})
    assert response.status_code == 201, response.text


def test_cancel_answers_201_and_needs_a_client_query_id(hedgerow: HedgerowClient) -> None:
    response = hedgerow.post(hedgerow.api(INS) + "cancel/", json={"client_query_id": "q-1"})
    assert response.status_code == 201, response.text
    assert_error(
        hedgerow.post(hedgerow.api(INS) + "cancel/", json={}),
        400,
        type="validation_error",
        code="invalid_input",
    )


def test_trending_ranks_recently_viewed_insights_by_viewers(hedgerow: HedgerowClient) -> None:
    popular, quiet, stale = (create(hedgerow, name=n)["id"] for n in ("popular", "quiet", "stale"))
    second = hedgerow.issue_key(["*"], email="second@example.com")
    third = hedgerow.issue_key(["*"], email="third@example.com")
    viewed(hedgerow, popular, key=second)
    viewed(hedgerow, popular, quiet, key=third)
    with transaction(hedgerow.app.state.sessionmaker) as session:
        session.execute(
            update(InsightViewed)
            .where(InsightViewed.insight_id == stale)
            .values(last_viewed_at=datetime.now(UTC) - timedelta(days=20))
        )
    response = hedgerow.get(hedgerow.api(INS) + "trending/")
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["id"] for r in results] == [popular, quiet]
    assert results[0]["view_count"] == 3 and results[1]["view_count"] == 2
    assert {v["email"] for v in results[0]["viewers"]} == {
        "admin@hedgerow.local",
        "second@example.com",
        "third@example.com",
    }
    assert set(results[0]) >= BASIC_KEYS
    wider = hedgerow.get(hedgerow.api(INS) + "trending/?days=30&limit=1").json()["results"]
    assert [r["id"] for r in wider] == [popular]
    assert [r["id"] for r in hedgerow.get(hedgerow.api(INS) + "trending/?days=30").json()["results"]] == [
        popular,
        quiet,
        stale,
    ]


def test_list_orders_and_filters_by_when_the_requester_last_viewed(hedgerow: HedgerowClient) -> None:
    old, new, never = (create(hedgerow, name=n)["id"] for n in ("old", "new", "never"))
    with transaction(hedgerow.app.state.sessionmaker) as session:
        session.execute(
            update(InsightViewed)
            .where(InsightViewed.insight_id == old)
            .values(last_viewed_at=datetime.now(UTC) - timedelta(days=10))
        )
        session.execute(InsightViewed.__table__.delete().where(InsightViewed.insight_id == never))
    listed = hedgerow.get(hedgerow.api(INS) + "?order=-last_viewed_at").json()["results"]
    assert [r["id"] for r in listed] == [new, old, never]
    listed = hedgerow.get(hedgerow.api(INS) + "?order=last_viewed_at").json()["results"]
    assert [r["id"] for r in listed] == [never, old, new]
    recent = hedgerow.get(hedgerow.api(INS) + "?last_viewed_date_from=-3d").json()["results"]
    assert [r["id"] for r in recent] == [new]


def test_the_legacy_insight_path_serves_the_callers_current_project(hedgerow: HedgerowClient) -> None:
    made = create(hedgerow, name="legacy", query=query())
    listed = hedgerow.get("/api/insight/")
    assert listed.status_code == 200, listed.text
    assert [r["id"] for r in listed.json()["results"]] == [made["id"]]
    assert hedgerow.get(f"/api/insight/{made['id']}/").json()["name"] == "legacy"
    created = hedgerow.post("/api/insight/", json={"name": "via legacy"})
    assert created.status_code == 201, created.text
    assert hedgerow.get(hedgerow.api(INS) + f"{created.json()['id']}/").status_code == 200
    patched = hedgerow.patch(f"/api/insight/{made['id']}", json={"name": "renamed"})
    assert patched.status_code == 200 and patched.json()["name"] == "renamed"
    assert hedgerow.post("/api/insight/viewed/", json={"insight_ids": [made["id"]]}).status_code == 201
    assert hedgerow.delete(f"/api/insight/{made['id']}/").status_code == 405
