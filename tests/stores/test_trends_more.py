"""More trends over every analytics engine: compare_to, active-user math, per-actor math, operators.

Same data and moment as tests/stores/test_trends.py (insights-trends.md §7.3).
"""

from __future__ import annotations

from typing import Any

import pytest

from hedgerow.domain.insights.trends import BREAKDOWN_NULL, BREAKDOWN_OTHER
from hedgerow.store.base import AnalyticsStore
from tests.stores.test_trends import P1, P2, P3, event, seeded, trends

__all__ = ["seeded"]  # the fixture, shared


def test_compare_to_shifts_the_whole_range(seeded: AnalyticsStore) -> None:
    compare = {"compare": True, "compare_to": "-1d"}
    current, previous = trends(seeded, dateRange={"date_from": "-7d"}, compareFilter=compare).result
    assert current["compare_label"] == "current" and current["data"] == [0, 0, 0, 0, 0, 0, 2, 1]
    assert previous["compare_label"] == "previous" and previous["compare"] is True
    assert previous["days"] == [f"2012-01-{d:02d}" for d in range(7, 15)]
    assert previous["data"] == [0, 0, 0, 0, 0, 0, 0, 2]
    weeks = trends(
        seeded, dateRange={"date_from": "-7d"}, compareFilter={"compare": True, "compare_to": "-1w"}
    )
    assert weeks.result[1]["days"][0] == "2012-01-01"
    assert weeks.result[1]["filter"]["date_from"] == "2012-01-01T00:00:00Z"
    with pytest.raises(Exception, match="compare_to"):
        trends(seeded, compareFilter={"compare": True, "compare_to": "yesterday"})


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ({"key": "$browser", "value": ["Chrome", "Safari"], "operator": "in"}, [1, 1]),
        ({"key": "$browser", "value": ["Chrome"], "operator": "not_in"}, [1, 0]),
        ({"key": "price", "value": 5, "operator": "min"}, [2, 0]),
        ({"key": "price", "value": 5, "operator": "max"}, [1, 0]),
        ({"key": "price", "value": [4, 6], "operator": "between"}, [1, 0]),
        # Outside the range, or without the property at all.
        ({"key": "price", "value": [4, 6], "operator": "not_between"}, [1, 1]),
    ],
)
def test_more_property_operators(seeded: AnalyticsStore, prop: dict[str, Any], expected: list[int]) -> None:
    out = trends(seeded, properties=[{**prop, "type": "event"}])
    assert out.result[0]["data"][-2:] == expected


def test_count_per_actor_math(seeded: AnalyticsStore) -> None:
    seeded.append_events([event(P1, "2012-01-14 09:00:00"), event(P1, "2012-01-14 10:00:00")])
    # On the 14th P1 has three pageviews and P2 one; on the 15th P1 has one.
    expected = {
        "avg_count_per_actor": [2.0, 1],
        "min_count_per_actor": [1, 1],
        "max_count_per_actor": [3, 1],
        "median_count_per_actor": [2.0, 1],
        "p90_count_per_actor": [2.8, 1],
    }
    for math, data in expected.items():
        series = [{"kind": "EventsNode", "event": "$pageview", "math": math}]
        assert trends(seeded, series=series).result[0]["data"][-2:] == pytest.approx(data), math
    bold = trends(
        seeded,
        series=[{"kind": "EventsNode", "event": "$pageview", "math": "max_count_per_actor"}],
        trendsFilter={"display": "BoldNumber"},
    ).result[0]
    assert bold["aggregated_value"] == 4
    by_browser = trends(
        seeded,
        series=[{"kind": "EventsNode", "event": "$pageview", "math": "avg_count_per_actor"}],
        breakdownFilter={"breakdown": "$browser"},
    ).result
    assert [(s["breakdown_value"], s["data"][-2:]) for s in by_browser[:2]] == [
        ("Chrome", [1, 1]),
        ("Firefox", [1, 0]),
    ]


def test_active_people_by_week_and_as_a_single_number(seeded: AnalyticsStore) -> None:
    seeded.append_events([event(P3, "2012-01-05 12:00:00"), event(P2, "2011-12-20 12:00:00")])
    monthly = [{"kind": "EventsNode", "event": "$pageview", "math": "monthly_active"}]
    weekly = [{"kind": "EventsNode", "event": "$pageview", "math": "weekly_active"}]
    # A week bucket counts the 30 days that end with its first day: monthly_active stays monthly.
    by_week = trends(seeded, series=monthly, interval="week", dateRange={"date_from": "-14d"}).result[0]
    assert by_week["days"] == ["2012-01-01", "2012-01-08", "2012-01-15"]
    assert by_week["data"] == [1, 2, 3]
    # At month interval it is the plain uniques of each month.
    by_month = trends(seeded, series=monthly, interval="month", dateRange={"date_from": "-40d"}).result[0]
    assert by_month["data"] == [1, 3]
    # A single number: the people active in the window that ends with the range.
    bold = {"display": "BoldNumber"}
    assert trends(seeded, series=weekly, trendsFilter=bold).result[0]["aggregated_value"] == 2
    assert trends(seeded, series=monthly, trendsFilter=bold).result[0]["aggregated_value"] == 3


def test_formula_results_by_breakdown_are_ordered_like_breakdowns(seeded: AnalyticsStore) -> None:
    series = [{"kind": "EventsNode", "event": "signup"}, {"kind": "EventsNode", "event": "$pageview"}]
    out = trends(
        seeded, series=series, breakdownFilter={"breakdown": "$browser"}, trendsFilter={"formula": "A+B"}
    ).result
    # The signup has no browser, so its value (null) comes first in series A; nulls go last.
    assert [(s["breakdown_value"], s["count"]) for s in out] == [
        ("Chrome", 2.0),
        ("Firefox", 1.0),
        (BREAKDOWN_NULL, 1.0),
    ]


def test_several_breakdowns(seeded: AnalyticsStore) -> None:
    breakdowns = [{"property": "$browser", "type": "event"}, {"property": "plan", "type": "person"}]
    out = trends(seeded, breakdownFilter={"breakdowns": breakdowns})
    assert [(s["breakdown_value"], s["label"], s["count"]) for s in out.result] == [
        (["Chrome", "pro"], "Chrome::pro", 2.0),
        (["Firefox", "free"], "Firefox::free", 1.0),
    ]
    assert out.result[0]["data"][-2:] == [1, 1]
    missing = trends(
        seeded, breakdownFilter={"breakdowns": [{"property": "price"}, {"property": "$browser"}]}
    )
    # Ties go by value; a missing part shows as null.
    assert [s["breakdown_value"] for s in missing.result] == [
        [BREAKDOWN_NULL, "Chrome"],
        ["20", "Firefox"],
        ["5", "Chrome"],
    ]
    limited = trends(seeded, breakdownFilter={"breakdowns": breakdowns, "breakdown_limit": 1})
    assert [s["breakdown_value"] for s in limited.result] == [["Chrome", "pro"], [BREAKDOWN_OTHER] * 2]
    formula = trends(seeded, breakdownFilter={"breakdowns": breakdowns}, trendsFilter={"formula": "A*2"})
    assert [(s["breakdown_value"], s["count"]) for s in formula.result] == [
        (["Chrome", "pro"], 4.0),
        (["Firefox", "free"], 2.0),
    ]


def test_minute_buckets(seeded: AnalyticsStore) -> None:
    seeded.append_events([event(P2, "2012-01-15 04:59:10"), event(P2, "2012-01-15 04:59:50")])
    out = trends(seeded, interval="minute", dateRange={"date_from": "-3M"}).result[0]
    # now is 05:01:34: from 04:58:34 to the end of the current minute.
    assert out["days"] == [
        "2012-01-15 04:58:00",
        "2012-01-15 04:59:00",
        "2012-01-15 05:00:00",
        "2012-01-15 05:01:00",
    ]
    assert out["labels"][1] == "15-Jan 04:59" and out["data"] == [0, 2, 0, 0]
    assert out["filter"]["date_to"] == "2012-01-15T05:01:59.999999Z"
