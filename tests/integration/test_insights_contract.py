"""Insights API details of the insights spec: query parsing, routes, list filters, representation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from hedgerow.db.session import transaction
from hedgerow.domain.insights.models import Insight
from hedgerow.domain.projects.models import Project
from tests.integration.test_insights import INS, add_events, create, get, query
from tests.support import HedgerowClient, assert_error


def test_a_query_that_is_not_an_object_is_a_parse_error(hedgerow: HedgerowClient) -> None:
    for bad in ("nope", [1], 5):
        assert_error(
            hedgerow.post(hedgerow.api(INS), json={"query": bad}),
            400,
            type="invalid_request",
            code="parse_error",
            detail="Query must be a valid JSON object",
        )


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("InsightVizNode", lambda q: q.update(fulll=True)),
        ("TrendsQuery", lambda q: q["source"].update(seriess=[])),
        ("EventsNode", lambda q: q["source"]["series"][0].update(mathh="dau")),
        ("DateRange", lambda q: q["source"]["dateRange"].update(datefrom="-7d")),
        ("BreakdownFilter", lambda q: q["source"].update(breakdownFilter={"breakdwn": "$browser"})),
        ("CompareFilter", lambda q: q["source"].update(compareFilter={"compare": True, "to": "-1w"})),
    ],
)
def test_unknown_keys_in_a_query_are_refused(hedgerow: HedgerowClient, where: str, change: Any) -> None:
    bad = query()
    change(bad)
    response = hedgerow.post(hedgerow.api(INS), json={"name": "typo", "query": bad})
    assert_error(response, 400, type="invalid_request", code="parse_error")
    assert where in response.json()["detail"]
    made = create(hedgerow, name="fine", query=query())
    assert_error(
        hedgerow.patch(hedgerow.api(INS) + f"{made['id']}/", json={"query": bad}),
        400,
        type="invalid_request",
        code="parse_error",
    )


def test_every_documented_key_is_accepted(hedgerow: HedgerowClient) -> None:
    full = {
        "kind": "InsightVizNode",
        "full": True,
        "showHeader": True,
        "showTable": False,
        "embedded": False,
        "version": 2,
        "source": {
            "kind": "TrendsQuery",
            "series": [
                {
                    "kind": "EventsNode",
                    "event": "$pageview",
                    "name": "$pageview",
                    "custom_name": "Views",
                    "math": "sum",
                    "math_property": "price",
                    "math_property_type": "event_properties",
                    "properties": [],
                    "version": 1,
                },
                {"kind": "ActionsNode", "id": 3, "name": "Signed up", "math": "total"},
            ],
            "interval": "week",
            "dateRange": {"date_from": "-30d", "date_to": None, "explicitDate": False},
            "properties": {"type": "AND", "values": []},
            "filterTestAccounts": True,
            "breakdownFilter": {"breakdown_type": "event", "breakdown": "$os", "breakdown_limit": 10},
            "trendsFilter": {"display": "ActionsLineGraph", "showLegend": True, "formula": "A+B"},
            "compareFilter": {"compare": True, "compare_to": "-1w"},
            "samplingFactor": None,
            "aggregation_group_type_index": None,
            "dataColorTheme": None,
            "version": 2,
        },
    }
    assert create(hedgerow, name="everything", query=full)["query"] == full


def test_the_environments_path_serves_the_same_insights(hedgerow: HedgerowClient) -> None:
    made = create(hedgerow, name="env", query=query())
    base = f"/api/environments/{hedgerow.project_id}/insights/"
    listed = hedgerow.get(base)
    assert listed.status_code == 200 and [r["id"] for r in listed.json()["results"]] == [made["id"]]
    assert hedgerow.get(base + f"{made['id']}/").json()["short_id"] == made["short_id"]
    assert hedgerow.patch(base + f"{made['id']}", json={"name": "renamed"}).json()["name"] == "renamed"
    assert hedgerow.post(base, json={"name": "second"}).status_code == 201
    assert hedgerow.get("/api/environments/@current/insights/").json()["count"] == 2
    assert get(hedgerow, made["id"])["name"] == "renamed"


def test_filters_of_an_insight_without_filters_or_query_say_trends(hedgerow: HedgerowClient) -> None:
    bare = create(hedgerow, name="test")
    assert bare["filters"] == {"insight": "TRENDS"}
    assert get(hedgerow, bare["id"])["filters"] == {"insight": "TRENDS"}
    assert create(hedgerow, name="q", query=query())["filters"] == {}
    legacy = create(hedgerow, name="legacy", filters={"insight": "FUNNELS", "events": []})
    assert legacy["filters"] == {"insight": "FUNNELS", "events": []}


def _ids(hedgerow: HedgerowClient, params: str) -> list[int]:
    response = hedgerow.get(hedgerow.api(INS) + params)
    assert response.status_code == 200, response.text
    return sorted(r["id"] for r in response.json()["results"])


def test_search_also_matches_tag_names(hedgerow: HedgerowClient) -> None:
    tagged = create(hedgerow, name="plain", tags=["Marketing"])
    named = create(hedgerow, name="marketing funnel")
    create(hedgerow, name="other", tags=["growth"])
    assert _ids(hedgerow, "?search=MARKET") == sorted([tagged["id"], named["id"]])


def test_date_filters_on_last_modified_and_created(hedgerow: HedgerowClient) -> None:
    old = create(hedgerow, name="old")
    recent = create(hedgerow, name="recent")
    now = datetime.now(UTC)
    with transaction(hedgerow.app.state.sessionmaker) as session:
        session.execute(
            update(Insight)
            .where(Insight.id == old["id"])
            .values(last_modified_at=now - timedelta(days=20), created_at=now - timedelta(days=30))
        )
    assert _ids(hedgerow, "?date_from=-7d") == [recent["id"]]
    assert _ids(hedgerow, "?date_to=-7d") == [old["id"]]
    day = (now - timedelta(days=25)).strftime("%Y-%m-%d")
    assert _ids(hedgerow, f"?date_from={day}") == sorted([old["id"], recent["id"]])
    assert _ids(hedgerow, "?created_date_to=-25d") == [old["id"]]
    assert _ids(hedgerow, "?created_date_from=-25d") == [recent["id"]]
    assert_error(
        hedgerow.get(hedgerow.api(INS) + "?date_from=not-a-date"),
        400,
        type="validation_error",
        code="invalid_input",
        attr="date_from",
    )


def test_sql_and_json_kinds(hedgerow: HedgerowClient) -> None:
    viz = create(
        hedgerow,
        name="viz",
        query={"kind": "DataVisualizationNode", "source": {"kind": "HogQLQuery", "query": "select 1"}},
    )
    table = create(
        hedgerow,
        name="table",
        query={"kind": "DataTableNode", "source": {"kind": "HogQLQuery", "query": "select 2"}},
    )
    events_table = create(
        hedgerow,
        name="events",
        query={"kind": "DataTableNode", "source": {"kind": "EventsQuery", "select": []}},
    )
    odd_viz = create(
        hedgerow, name="web", query={"kind": "InsightVizNode", "source": {"kind": "WebOverviewQuery"}}
    )
    create(hedgerow, name="trends", query=query())
    create(hedgerow, name="legacy", filters={"insight": "TRENDS"})
    assert _ids(hedgerow, "?insight=SQL") == sorted([viz["id"], table["id"]])
    assert _ids(hedgerow, "?insight=JSON") == sorted([events_table["id"], odd_viz["id"]])


def _wait(body: dict[str, Any]) -> timedelta:
    return datetime.fromisoformat(body["next_allowed_client_refresh"]) - datetime.fromisoformat(
        body["last_refresh"]
    )


def test_next_allowed_client_refresh_is_sooner_for_short_ranges(hedgerow: HedgerowClient) -> None:
    def computed(**source: Any) -> dict[str, Any]:
        made = create(hedgerow, name="r", query=query(**source))
        return get(hedgerow, made["id"], "?refresh=true")

    # `-7d` spans eight days (today included): the ordinary 15 minutes.
    assert _wait(computed(dateRange={"date_from": "-7d"})) == timedelta(minutes=15)
    assert _wait(computed(dateRange={"date_from": "-6d"})) == timedelta(minutes=3)
    assert _wait(computed(dateRange={"date_from": "-30d"}, interval="hour")) == timedelta(minutes=3)
    last = computed(dateRange={"date_from": "-6d"})
    assert datetime.fromisoformat(last["cache_target_age"]) - datetime.fromisoformat(
        last["last_refresh"]
    ) == timedelta(hours=6)


def test_date_operators_filter_trends(hedgerow: HedgerowClient) -> None:
    add_events(
        hedgerow,
        ("a", 13, {"paid": "2012-01-02"}),
        ("b", 14, {"paid": "2012-01-09T10:00:00Z"}),
        ("c", 15, {}),
    )
    expected = {
        "is_date_before": [0, 0, 0, 1, 0, 0],
        "is_date_after": [0, 0, 0, 0, 1, 0],
        "is_date_exact": [0, 0, 0, 1, 0, 0],
    }
    for operator, data in expected.items():
        value = "2012-01-02" if operator == "is_date_exact" else "2012-01-05"
        prop = {"key": "paid", "operator": operator, "value": value, "type": "event"}
        made = create(hedgerow, name=operator, query=query(properties=[prop]))
        assert get(hedgerow, made["id"], "?refresh=blocking")["result"][0]["data"] == data, operator
    bad = {"key": "paid", "operator": "is_date_after", "value": "whenever", "type": "event"}
    made = create(hedgerow, name="bad", query=query(properties=[bad]))
    response = hedgerow.get(hedgerow.api(INS) + f"{made['id']}/?refresh=blocking")
    assert_error(response, 400, type="validation_error", code="invalid_input", attr="properties")


def test_weeks_start_on_the_projects_week_start_day(hedgerow: HedgerowClient) -> None:
    add_events(hedgerow, ("a", 10, {}), ("b", 15, {}))
    made = create(hedgerow, name="weekly", query=query(interval="week"))
    sunday = get(hedgerow, made["id"], "?refresh=blocking")["result"][0]
    assert sunday["days"] == ["2012-01-08", "2012-01-15"] and sunday["data"] == [1, 1]
    with transaction(hedgerow.app.state.sessionmaker) as session:
        session.execute(update(Project).where(Project.id == hedgerow.project_id).values(week_start_day=1))
    # The week start is part of the cache key: the Sunday result is not served for Monday weeks.
    assert get(hedgerow, made["id"])["result"] is None
    monday = get(hedgerow, made["id"], "?refresh=blocking")["result"][0]
    assert monday["days"] == ["2012-01-09"] and monday["data"] == [2]
