"""Insights API details of the insights spec: query parsing, routes, list filters, representation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_insights import INS, create, get, query
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
