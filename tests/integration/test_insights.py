"""Insights API: CRUD, dashboards through tiles, results per `refresh`, dashboard context (insights spec)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from hedgerow.db.session import transaction
from hedgerow.domain.insights.models import QueryResult
from hedgerow.store.base import EventRow
from tests.support import HedgerowClient, assert_error

INS = "insights"
FULL_KEYS = [
    "id",
    "short_id",
    "name",
    "derived_name",
    "filters",
    "query",
    "order",
    "deleted",
    "dashboards",
    "dashboard_tiles",
    "last_refresh",
    "cache_target_age",
    "next_allowed_client_refresh",
    "result",
    "hasMore",
    "columns",
    "created_at",
    "created_by",
    "description",
    "updated_at",
    "tags",
    "favorited",
    "saved",
    "last_modified_at",
    "last_modified_by",
    "is_sample",
    "effective_restriction_level",
    "effective_privilege_level",
    "user_access_level",
    "timezone",
    "is_cached",
    "query_status",
    "hogql",
    "types",
    "filters_hash",
]
BASIC_KEYS = {
    "id",
    "short_id",
    "name",
    "derived_name",
    "favorited",
    "filters",
    "query",
    "dashboards",
    "dashboard_tiles",
    "description",
    "last_refresh",
    "refreshing",
    "saved",
    "updated_at",
    "created_by",
    "created_at",
    "last_modified_at",
    "tags",
    "user_access_level",
}


def query(**source: Any) -> dict[str, Any]:
    body = {
        "kind": "TrendsQuery",
        "series": [{"kind": "EventsNode", "event": "$pageview", "name": "$pageview"}],
        "interval": "day",
        "dateRange": {"date_from": "2012-01-10", "date_to": "2012-01-15"},
        **source,
    }
    return {"kind": "InsightVizNode", "source": body}


def add_events(hedgerow: HedgerowClient, *events: tuple[str, int, dict[str, Any]]) -> None:
    rows = []
    for person, day, props in events:
        moment = datetime(2012, 1, day, 12, 0, tzinfo=UTC)
        rows.append(
            EventRow(
                uuid=str(uuid.uuid4()),
                project_id=hedgerow.project_id,
                event="$pageview",
                distinct_id=person,
                person_id=str(uuid.uuid5(uuid.NAMESPACE_OID, person)),
                properties=json.dumps(props),
                timestamp=moment,
                created_at=moment,
            )
        )
    hedgerow.app.state.store.append_events(rows)


@pytest.fixture
def seeded(hedgerow: HedgerowClient) -> HedgerowClient:
    add_events(
        hedgerow,
        ("a", 13, {"prop": "val", "$browser": "Chrome"}),
        ("b", 14, {"$browser": "Firefox"}),
        ("a", 14, {"prop": "val", "$browser": "Chrome"}),
        ("c", 15, {"$browser": "Chrome"}),
    )
    return hedgerow


def create(hedgerow: HedgerowClient, **body: Any) -> dict[str, Any]:
    response = hedgerow.post(hedgerow.api(INS), json=body)
    assert response.status_code == 201, response.text
    return response.json()


def get(hedgerow: HedgerowClient, insight_id: int, params: str = "") -> dict[str, Any]:
    response = hedgerow.get(hedgerow.api(INS) + f"{insight_id}/{params}")
    assert response.status_code == 200, response.text
    return response.json()


def test_create_full_representation_without_result(hedgerow: HedgerowClient) -> None:
    body = create(hedgerow, name="Daily pageviews", derived_name="Pageview count", query=query(), saved=True)
    assert list(body) == FULL_KEYS
    assert len(body["short_id"]) == 8 and body["short_id"].isalnum()
    assert body["result"] is None and body["last_refresh"] is None and body["is_cached"] is False
    assert body["filters"] == {} and body["query"] == query() and body["saved"] is True
    assert body["created_by"]["email"] == "admin@hedgerow.local" and body["last_modified_by"]["id"]
    assert body["effective_privilege_level"] == 37 and body["user_access_level"] == "editor"
    assert body["dashboards"] == [] and body["dashboard_tiles"] == [] and body["deleted"] is False
    assert create(hedgerow, name="test")["query"] is None
    assert create(hedgerow, name="empty query", query={})["query"] == {}
    assert hedgerow.post(hedgerow.api(INS), json={"query": []}).status_code == 400


def test_query_validation(hedgerow: HedgerowClient) -> None:
    assert_error(
        hedgerow.post(hedgerow.api(INS), json={"query": "nope"}),
        400,
        type="invalid_request",
        code="parse_error",
        detail="Query must be a valid JSON object",
    )
    bad = {"kind": "InsightVizNode", "source": {"kind": "TrendsQuery", "series": [{"kind": "Nope"}]}}
    assert hedgerow.post(hedgerow.api(INS), json={"query": bad}).status_code == 400
    assert_error(
        hedgerow.post(hedgerow.api(INS), json={"name": "x" * 401}),
        400,
        type="validation_error",
        code="max_length",
        detail="Ensure this field has no more than 400 characters.",
        attr="name",
    )


def test_refresh_modes_and_cache(seeded: HedgerowClient) -> None:
    made = create(seeded, name="views", query=query())
    assert get(seeded, made["id"])["result"] is None
    computed = get(seeded, made["id"], "?refresh=true")
    assert computed["is_cached"] is False and computed["last_refresh"] is not None
    (series,) = computed["result"]
    assert series["data"] == [0, 0, 0, 1, 2, 1] and series["count"] == 4.0
    assert (
        series["days"][0] == "2012-01-10" and computed["timezone"] == "UTC" and computed["hasMore"] is False
    )
    assert computed["filters_hash"].startswith("cache_") and computed["hogql"]
    cached = get(seeded, made["id"])
    assert cached["is_cached"] is True and cached["last_refresh"] == computed["last_refresh"]
    assert cached["result"] == computed["result"]
    add_events(seeded, ("d", 15, {}))
    # A range that ended long ago never goes stale: blocking keeps serving the cache.
    assert get(seeded, made["id"], "?refresh=blocking")["result"][0]["data"][-1] == 1
    forced = get(seeded, made["id"], "?refresh=force_blocking")
    assert forced["result"][0]["data"][-1] == 2 and forced["is_cached"] is False
    assert get(seeded, made["id"], "?refresh")["result"][0]["count"] == 5.0
    assert get(seeded, made["id"], "?refresh=false")["is_cached"] is True
    # Results expire after a week: a plain read then shows nothing, as after a cache eviction.
    with transaction(seeded.app.state.sessionmaker) as session:
        session.execute(update(QueryResult).values(last_refresh=datetime.now(UTC) - timedelta(days=8)))
    expired = get(seeded, made["id"])
    assert expired["result"] is None and expired["last_refresh"] is None
    assert get(seeded, made["id"], "?refresh=blocking")["is_cached"] is False
    # A new insight with the same query is served from the same cache entry.
    twin = create(seeded, name="twin", query=query())
    assert twin["result"][0]["count"] == 5.0 and twin["is_cached"] is True


def test_list_filters_basic_and_short_id(seeded: HedgerowClient) -> None:
    board = seeded.post(seeded.api("dashboards"), json={"name": "d"}).json()
    one = create(seeded, name="Alpha views", query=query(), dashboards=[board["id"]])
    two = create(seeded, name="Beta", description="about alpha", favorited=True)
    create(seeded, name="Gamma", saved=False)
    page = seeded.get(seeded.api(INS)).json()
    assert page["count"] == 3 and list(page["results"][0]) == FULL_KEYS
    basic = seeded.get(seeded.api(INS) + "?basic=true").json()["results"]
    assert set(basic[0]) == BASIC_KEYS
    by_short = seeded.get(seeded.api(INS) + f"?short_id={two['short_id']}").json()["results"]
    assert [r["id"] for r in by_short] == [two["id"]]
    assert {r["id"] for r in seeded.get(seeded.api(INS) + "?search=ALPHA").json()["results"]} == {
        one["id"],
        two["id"],
    }
    assert [r["id"] for r in seeded.get(seeded.api(INS) + "?favorited=true").json()["results"]] == [two["id"]]
    assert [
        r["id"] for r in seeded.get(seeded.api(INS) + f"?dashboards=[{board['id']}]").json()["results"]
    ] == [one["id"]]
    assert [r["id"] for r in seeded.get(seeded.api(INS) + "?saved=true").json()["results"]] == [one["id"]]
    listed = seeded.get(seeded.api(INS) + "?refresh=true").json()["results"]
    assert next(r for r in listed if r["id"] == one["id"])["result"][0]["count"] == 4.0


def test_dashboards_attach_detach_and_errors(hedgerow: HedgerowClient) -> None:
    path = hedgerow.api("dashboards")
    d1 = hedgerow.post(path, json={"name": "one"}).json()
    d2 = hedgerow.post(path, json={"name": "two"}).json()
    made = create(hedgerow, name="x", query=query(), dashboards=[d1["id"]])
    assert made["dashboards"] == [d1["id"]]
    assert made["dashboard_tiles"][0]["dashboard_id"] == d1["id"]
    moved = hedgerow.patch(hedgerow.api(INS) + f"{made['id']}/", json={"dashboards": [d2["id"]]}).json()
    assert moved["dashboards"] == [d2["id"]]
    back = hedgerow.patch(
        hedgerow.api(INS) + f"{made['id']}/", json={"dashboards": [d1["id"], d2["id"]]}
    ).json()
    assert sorted(back["dashboards"]) == sorted([d1["id"], d2["id"]])
    # The revived tile is the one it had before.
    assert made["dashboard_tiles"][0]["id"] in [t["id"] for t in back["dashboard_tiles"]]
    elsewhere = hedgerow.create_project("Elsewhere")
    foreign = hedgerow.post(hedgerow.api("dashboards", elsewhere.id), json={"name": "theirs"}).json()
    assert_error(
        hedgerow.patch(hedgerow.api(INS) + f"{made['id']}/", json={"dashboards": [foreign["id"]]}),
        400,
        type="validation_error",
        code="invalid_input",
        detail="Dashboard not found",
        attr="dashboards",
    )
    hedgerow.patch(path + f"{d2['id']}/", json={"deleted": True})
    response = hedgerow.patch(hedgerow.api(INS) + f"{made['id']}/", json={"dashboards": [d1["id"], d2["id"]]})
    assert response.status_code == 400 and response.json()["attr"] == "dashboards"
    assert get(hedgerow, made["id"])["dashboards"] == [d1["id"]]


def test_update_material_fields_soft_delete_restore_and_activity(hedgerow: HedgerowClient) -> None:
    board = hedgerow.post(hedgerow.api("dashboards"), json={"name": "b"}).json()
    made = create(hedgerow, name="first", query=query(), dashboards=[board["id"]])
    fav = hedgerow.patch(hedgerow.api(INS) + f"{made['id']}/", json={"favorited": True}).json()
    assert fav["favorited"] is True and fav["last_modified_at"] == made["last_modified_at"]
    renamed = hedgerow.patch(hedgerow.api(INS) + f"{made['id']}/", json={"name": "second"}).json()
    assert renamed["last_modified_at"] != made["last_modified_at"]
    deleted = hedgerow.patch(hedgerow.api(INS) + f"{made['id']}/", json={"deleted": True})
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert_error(
        hedgerow.get(hedgerow.api(INS) + f"{made['id']}/"), 404, type="invalid_request", code="not_found"
    )
    assert hedgerow.get(hedgerow.api("dashboards") + f"{board['id']}/").json()["tiles"] == []
    restored = hedgerow.patch(hedgerow.api(INS) + f"{made['id']}/", json={"deleted": False})
    assert restored.status_code == 200 and restored.json()["deleted"] is False
    activity = hedgerow.get(hedgerow.api(INS) + f"{made['id']}/activity/").json()
    assert [e["activity"] for e in activity["results"]] == [
        "updated",
        "updated",
        "updated",
        "updated",
        "created",
    ]
    assert activity["results"][-1]["detail"]["short_id"] == made["short_id"]
    assert hedgerow.get(hedgerow.api(INS) + "activity/").json()["total_count"] == 5


def test_delete_is_405_and_scopes(hedgerow: HedgerowClient) -> None:
    made = create(hedgerow, name="x")
    response = hedgerow.delete(hedgerow.api(INS) + f"{made['id']}/")
    assert response.status_code == 405 and response.content == b""
    assert get(hedgerow, made["id"])["name"] == "x"
    reader = hedgerow.issue_key(["insight:read"])
    assert hedgerow.get(hedgerow.api(INS), key=reader).status_code == 200
    assert_error(
        hedgerow.post(hedgerow.api(INS), key=reader, json={}),
        403,
        type="authentication_error",
        code="permission_denied",
        detail="API key missing required scope 'insight:write'",
    )
    assert hedgerow.delete(hedgerow.api(INS) + f"{made['id']}/", key=reader).status_code == 403


def test_from_dashboard_applies_dashboard_filters_and_tile_overrides(seeded: HedgerowClient) -> None:
    dashboards = seeded.api("dashboards")
    board = seeded.post(
        dashboards,
        json={
            "name": "filtered",
            "filters": {
                "date_from": "2012-01-13",
                "properties": [{"key": "prop", "value": "val", "type": "event"}],
            },
        },
    ).json()
    made = create(seeded, name="x", query=query(), dashboards=[board["id"]])
    plain = get(seeded, made["id"], "?refresh=true")
    assert plain["result"][0]["data"] == [0, 0, 0, 1, 2, 1]
    in_board = get(seeded, made["id"], f"?refresh=true&from_dashboard={board['id']}")
    source = in_board["query"]["source"]
    assert source["dateRange"] == {"date_from": "2012-01-13", "date_to": None, "explicitDate": False}
    assert source["properties"] == [{"key": "prop", "value": "val", "type": "event"}]
    # In a dashboard's context the query is shown with every key; outside it as stored.
    assert source["breakdownFilter"] is None and source["filterTestAccounts"] is False
    assert "breakdownFilter" not in plain["query"]["source"]
    # date_to cleared: the range runs to today, so only the first days are checked.
    assert in_board["result"][0]["data"][:3] == [1, 1, 0] and in_board["color"] is None
    assert in_board["filters_hash"] != plain["filters_hash"] and in_board["layouts"] == {}

    detail = seeded.get(dashboards + f"{board['id']}/?refresh=true").json()
    (tile,) = detail["tiles"]
    assert detail["last_refresh"] == tile["last_refresh"] is not None
    assert tile["insight"]["result"][0]["data"][:3] == [1, 1, 0] and tile["is_cached"] is False
    seeded.patch(
        dashboards + f"{board['id']}/",
        json={
            "tiles": [
                {"id": tile["id"], "filters_overrides": {"date_from": "2012-01-14", "date_to": "2012-01-15"}}
            ]
        },
    )
    overridden = seeded.get(dashboards + f"{board['id']}/?refresh=blocking").json()["tiles"][0]
    assert overridden["insight"]["result"][0]["data"] == [2, 1]
    assert overridden["filters_overrides"] == {"date_from": "2012-01-14", "date_to": "2012-01-15"}

    override = '{"date_from": "2012-01-15", "date_to": "2012-01-15"}'
    previewed = get(seeded, made["id"], f"?refresh=true&filters_override={override}")
    assert previewed["result"][0]["data"] == [1]
    assert_error(
        seeded.get(seeded.api(INS) + f"{made['id']}/?filters_override=nope"),
        400,
        type="validation_error",
        code="invalid_input",
        detail="Invalid JSON passed in filters_override parameter",
        attr="filters_override",
    )


def test_breakdown_and_unsupported_math(seeded: HedgerowClient) -> None:
    made = create(
        seeded, name="b", query=query(breakdownFilter={"breakdown": "$browser", "breakdown_type": "event"})
    )
    result = get(seeded, made["id"], "?refresh=true")["result"]
    assert [(s["breakdown_value"], s["count"]) for s in result] == [("Chrome", 3.0), ("Firefox", 1.0)]
    odd = create(
        seeded,
        name="odd",
        query=query(series=[{"kind": "EventsNode", "event": "$pageview", "math": "hogql"}]),
    )
    response = seeded.get(seeded.api(INS) + f"{odd['id']}/?refresh=true")
    assert_error(
        response,
        400,
        type="validation_error",
        code="invalid_input",
        detail='Math "hogql" is not supported.',
        attr="series",
    )


def test_list_by_kind_creator_tags_and_order(hedgerow: HedgerowClient) -> None:
    other_key = hedgerow.issue_key(["*"], email="someone@example.com")
    trends_one = create(hedgerow, name="b trends", query=query(), tags=["Growth"])
    sql = {"kind": "DataVisualizationNode", "source": {"kind": "HogQLQuery", "query": "select 1"}}
    sql_one = create(hedgerow, name="a sql", query=sql)
    theirs = hedgerow.post(
        hedgerow.api(INS), key=other_key, json={"name": "c theirs", "query": query()}
    ).json()

    def ids(params: str) -> list[int]:
        response = hedgerow.get(hedgerow.api(INS) + params)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["results"]]

    assert ids("?insight=TRENDS&order=name") == [trends_one["id"], theirs["id"]]
    assert ids("?insight=SQL") == [sql_one["id"]]
    assert ids(f"?created_by=[{theirs['created_by']['id']}]") == [theirs["id"]]
    assert ids("?user=true&order=-name") == [trends_one["id"], sql_one["id"]]
    assert ids('?tags=["growth"]') == [trends_one["id"]]
    assert ids("?order=-name") == [theirs["id"], trends_one["id"], sql_one["id"]]
