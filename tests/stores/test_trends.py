"""Trends over the analytics store, identical on DuckDB and ClickHouse (chDB): the compiler's proof.

The worked example of insights-trends.md §7.3: now 2012-01-15T05:01:34Z, `$pageview`s on the 14th
(two people, Chrome and Firefox) and on the 15th (Chrome again).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from hedgerow.domain.insights.trends import BREAKDOWN_NULL, BREAKDOWN_OTHER, run_trends
from hedgerow.query.trends import CohortSource, TrendsQueryError
from hedgerow.store.base import AnalyticsStore, CompiledQuery, EventRow, PersonVersion

NOW = datetime(2012, 1, 15, 5, 1, 34, tzinfo=UTC)
P1, P2, P3 = (str(uuid.UUID(int=i)) for i in (1, 2, 3))
DAYS = [f"2012-01-{d:02d}" for d in range(8, 16)]


def event(person: str, when: str, name: str = "$pageview", project: int = 1, **props: Any) -> EventRow:
    moment = datetime.fromisoformat(when).replace(tzinfo=UTC)
    return EventRow(
        uuid=str(uuid.uuid4()),
        project_id=project,
        event=name,
        distinct_id=f"d-{person[-1]}",
        person_id=person,
        properties=json.dumps(props),
        timestamp=moment,
        created_at=moment,
    )


@pytest.fixture
def seeded(store: AnalyticsStore) -> AnalyticsStore:
    store.append_events(
        [
            event(P1, "2012-01-14 03:21:00", **{"$browser": "Chrome", "price": 5, "$session_id": "s1"}),
            event(P2, "2012-01-14 03:21:00", **{"$browser": "Firefox", "price": 20, "$session_id": "s2"}),
            event(P1, "2012-01-15 04:30:00", **{"$browser": "Chrome", "$session_id": "s1"}),
            event(P3, "2012-01-13 10:00:00", name="signup"),
            event(P1, "2012-01-14 05:00:00", project=2),
        ]
    )
    store.append_person_versions(
        [
            PersonVersion(1, P1, json.dumps({"plan": "pro"}), True, NOW, 1),
            PersonVersion(1, P2, json.dumps({"plan": "free"}), True, NOW, 1),
        ]
    )
    return store


def trends(store: AnalyticsStore, cohorts: dict[int, CohortSource] | None = None, **source: Any) -> Any:
    query = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}], **source}
    return run_trends(store, query, project_id=1, timezone="UTC", now=NOW, cohorts=cohorts or {})


def test_total_per_day_matches_the_worked_example(seeded: AnalyticsStore) -> None:
    out = trends(seeded, dateRange={"date_from": "-7d"})
    (series,) = out.result
    assert series["data"] == [0, 0, 0, 0, 0, 0, 2, 1]
    assert series["days"] == DAYS
    assert series["labels"] == [f"{d}-Jan-2012" for d in range(8, 16)]
    assert series["count"] == 3.0 and series["label"] == "$pageview"
    assert series["filter"]["date_from"] == "2012-01-08T00:00:00Z"
    assert series["filter"]["date_to"] == "2012-01-15T23:59:59.999999Z"
    assert series["action"]["id"] == "$pageview" and series["action"]["math"] == "total"
    assert series["action"]["days"][0] == "2012-01-08T00:00:00Z"
    assert out.has_more is False


def test_dau_and_several_series(seeded: AnalyticsStore) -> None:
    out = trends(
        seeded,
        series=[
            {"kind": "EventsNode", "event": "$pageview", "math": "dau"},
            {"kind": "EventsNode", "event": "signup", "custom_name": "Signups"},
            {"kind": "EventsNode", "event": None},
        ],
    )
    assert [s["data"] for s in out.result] == [
        [0, 0, 0, 0, 0, 0, 2, 1],
        [0, 0, 0, 0, 0, 1, 0, 0],
        [0, 0, 0, 0, 0, 1, 2, 1],
    ]
    assert [s["label"] for s in out.result] == ["$pageview", "Signups", "All events"]


@pytest.mark.parametrize(
    ("math", "expected"),
    [
        ("sum", [25, 0]),
        ("avg", [12.5, 0]),
        ("min", [5, 0]),
        ("max", [20, 0]),
        ("median", [12.5, 0]),
        ("p90", [18.5, 0]),
    ],
)
def test_property_math(seeded: AnalyticsStore, math: str, expected: list[float]) -> None:
    series = [{"kind": "EventsNode", "event": "$pageview", "math": math, "math_property": "price"}]
    assert trends(seeded, series=series).result[0]["data"][-2:] == expected


def test_unique_sessions_and_person_property_math(seeded: AnalyticsStore) -> None:
    sessions = trends(seeded, series=[{"kind": "EventsNode", "event": "$pageview", "math": "unique_session"}])
    assert sessions.result[0]["data"][-2:] == [2, 1]
    with pytest.raises(TrendsQueryError, match="needs a math_property"):
        trends(seeded, series=[{"kind": "EventsNode", "event": "$pageview", "math": "sum"}])


def test_bold_number_aggregates_over_the_range(seeded: AnalyticsStore) -> None:
    display = {"trendsFilter": {"display": "BoldNumber"}}
    total = trends(seeded, **display).result[0]
    assert (
        total["aggregated_value"] == 3
        and total["data"] == []
        and total["count"] == 0
        and "labels" not in total
    )
    dau = trends(seeded, series=[{"kind": "EventsNode", "event": "$pageview", "math": "dau"}], **display)
    assert dau.result[0]["aggregated_value"] == 2


def test_compare_to_previous_period(seeded: AnalyticsStore) -> None:
    current, previous = trends(seeded, dateRange={"date_from": "-7d"}, compareFilter={"compare": True}).result
    assert (current["compare"], current["compare_label"], current["data"]) == (
        True,
        "current",
        [0, 0, 0, 0, 0, 0, 2, 1],
    )
    assert previous["compare_label"] == "previous" and previous["data"] == [0] * 8
    assert previous["days"] == [f"2012-01-{d:02d}" for d in range(1, 9)]


def test_formulas(seeded: AnalyticsStore) -> None:
    (half,) = trends(seeded, dateRange={"date_from": "-7d"}, trendsFilter={"formula": "A*0.5"}).result
    assert half["label"] == "Formula (A*0.5)" and half["action"] is None
    assert half["data"] == [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.5] and half["count"] == 1.5
    series = [
        {"kind": "EventsNode", "event": "$pageview"},
        {"kind": "EventsNode", "event": "$pageview", "math": "dau"},
    ]
    nodes = {"formulaNodes": [{"formula": "A/B", "custom_name": "Views per person"}, {"formula": "(A-B)*2"}]}
    ratio, doubled = trends(seeded, series=series, trendsFilter=nodes).result
    assert ratio["label"] == "Views per person" and ratio["data"][-2:] == [1.0, 1.0]
    assert ratio["data"][0] == 0.0  # nothing divided by nothing shows 0
    assert doubled["label"] == "Formula ((A-B)*2)" and doubled["data"][-2:] == [0.0, 0.0]
    by_browser = trends(
        seeded, breakdownFilter={"breakdown": "$browser"}, trendsFilter={"formula": "A+1"}
    ).result
    assert [(s["breakdown_value"], s["data"][-2:]) for s in by_browser] == [
        ("Chrome", [2.0, 2.0]),
        ("Firefox", [2.0, 1.0]),
    ]
    bold = trends(seeded, trendsFilter={"display": "BoldNumber", "formula": "A*2"}).result[0]
    assert bold["aggregated_value"] == 6.0 and bold["data"] is None
    with pytest.raises(Exception, match="Formula is not valid"):
        trends(seeded, trendsFilter={"formula": "__import__('os')"})


def test_cumulative_and_smoothing(seeded: AnalyticsStore) -> None:
    cumulative = {"display": "ActionsLineGraphCumulative"}
    total = trends(seeded, trendsFilter=cumulative).result[0]
    assert total["data"] == [0, 0, 0, 0, 0, 0, 2, 3] and total["count"] == 3.0
    people = trends(
        seeded, series=[{"kind": "EventsNode", "event": "$pageview", "math": "dau"}], trendsFilter=cumulative
    )
    # P1 returns on the 15th but is counted once, on the day first seen.
    assert people.result[0]["data"] == [0, 0, 0, 0, 0, 0, 2, 2] and people.result[0]["count"] == 2.0
    smooth = trends(seeded, trendsFilter={"smoothingIntervals": 2}).result[0]
    assert smooth["data"] == [0, 0, 0, 0, 0, 0, 1, 1]


def test_weekly_and_monthly_active_people(seeded: AnalyticsStore) -> None:
    seeded.append_events([event(P3, "2012-01-05 12:00:00"), event(P2, "2011-12-20 12:00:00")])
    weekly = trends(seeded, series=[{"kind": "EventsNode", "event": "$pageview", "math": "weekly_active"}])
    # P3 on the 5th counts until the 11th; P1 and P2 from the 14th; P1 again on the 15th.
    assert weekly.result[0]["data"] == [1, 1, 1, 1, 0, 0, 2, 2]
    monthly = trends(seeded, series=[{"kind": "EventsNode", "event": "$pageview", "math": "monthly_active"}])
    # P2's visit on 20 December is still inside the 30 days that end on 8-13 January.
    assert monthly.result[0]["data"] == [2, 2, 2, 2, 2, 2, 3, 3]
    by_week = trends(
        seeded,
        interval="week",
        series=[{"kind": "EventsNode", "event": "$pageview", "math": "weekly_active"}],
    )
    assert by_week.result[0]["data"] == [2, 1]  # plain uniques per week
    with pytest.raises(TrendsQueryError, match="needs a daily time series"):
        trends(
            seeded,
            interval="hour",
            series=[{"kind": "EventsNode", "event": "$pageview", "math": "weekly_active"}],
        )


def test_first_time_for_user(seeded: AnalyticsStore) -> None:
    seeded.append_events([event(P2, "2011-12-20 12:00:00")])
    first = [{"kind": "EventsNode", "event": "$pageview", "math": "first_time_for_user"}]
    # P1 first came on the 14th; P2 had come in December, before the range, so is not new.
    assert trends(seeded, series=first).result[0]["data"] == [0, 0, 0, 0, 0, 0, 1, 0]
    chrome = [{"key": "$browser", "value": "Chrome", "type": "event"}]
    matching = [{**first[0], "math": "first_matching_event_for_user", "properties": chrome}]
    assert trends(seeded, series=matching).result[0]["data"] == [0, 0, 0, 0, 0, 0, 1, 0]
    bold = trends(seeded, series=first, trendsFilter={"display": "BoldNumber"}).result[0]
    assert bold["aggregated_value"] == 1
    with pytest.raises(TrendsQueryError, match="cannot be broken down"):
        trends(seeded, series=first, breakdownFilter={"breakdown": "$browser"})


def test_actions_series_match_any_step(seeded: AnalyticsStore) -> None:
    seeded.append_events(
        [
            event(P3, "2012-01-15 01:00:00", **{"$current_url": "https://shop.example/checkout?x=1"}),
            event(P3, "2012-01-15 02:00:00", **{"$current_url": "https://shop.example/home"}),
        ]
    )
    steps = {
        5: [
            {"event": "$pageview", "url": "/checkout", "url_matching": "contains"},
            {"event": "signup"},
            {"event": None, "properties": [{"key": "$browser", "value": "Firefox", "type": "event"}]},
        ],
        6: [{"event": "$pageview", "url": "https://shop.example/home", "url_matching": "exact"}],
        7: [{"event": "$pageview", "url": "^https://shop\\.example/(home|about)$", "url_matching": "regex"}],
    }
    series = [{"kind": "ActionsNode", "id": i, "name": f"action {i}"} for i in (5, 6, 7, 99)]
    query = {"kind": "TrendsQuery", "series": series, "dateRange": {"date_from": "-7d"}}
    out = run_trends(seeded, query, project_id=1, timezone="UTC", now=NOW, cohorts={}, actions=steps)
    # 5: signup on the 13th, Firefox on the 14th, checkout on the 15th; 99 does not exist.
    assert [(s["label"], s["data"][-3:]) for s in out.result] == [
        ("action 5", [1, 1, 1]),
        ("action 6", [0, 0, 1]),
        ("action 7", [0, 0, 1]),
        ("action 99", [0, 0, 0]),
    ]
    assert out.result[0]["action"]["id"] == "action 5"


def test_all_time_starts_at_the_first_event(seeded: AnalyticsStore) -> None:
    series = trends(seeded, dateRange={"date_from": "all"}).result[0]
    assert series["days"] == ["2012-01-13", "2012-01-14", "2012-01-15"]
    assert series["data"] == [0, 2, 1]


def test_weekly_and_monthly_buckets(seeded: AnalyticsStore) -> None:
    weekly = trends(seeded, interval="week", dateRange={"date_from": "-14d"}).result[0]
    assert weekly["days"] == ["2012-01-01", "2012-01-08", "2012-01-15"]
    assert weekly["data"] == [0, 2, 1]
    assert weekly["labels"] == ["1\u20137 Jan", "8\u201314 Jan", "15-Jan-2012"]
    monthly = trends(seeded, interval="month", dateRange={"date_from": "-40d"}).result[0]
    assert monthly["days"] == ["2011-12-01", "2012-01-01"] and monthly["data"] == [0, 3]
    assert monthly["labels"] == ["Dec 2011", "Jan 2012"]


def test_hourly_buckets_in_the_project_time_zone(seeded: AnalyticsStore) -> None:
    query = {
        "kind": "TrendsQuery",
        "series": [{"kind": "EventsNode", "event": "$pageview"}],
        "interval": "hour",
        "dateRange": {"date_from": "-3h"},
    }
    out = run_trends(seeded, query, project_id=1, timezone="Asia/Tokyo", now=NOW, cohorts={})
    (series,) = out.result
    # 04:30 UTC is 13:30 in Tokyo; now is 14:01 there.
    assert series["days"] == [
        "2012-01-15 11:00:00",
        "2012-01-15 12:00:00",
        "2012-01-15 13:00:00",
        "2012-01-15 14:00:00",
    ]
    assert series["data"] == [0, 0, 1, 0]


def test_breakdown_by_event_property_with_limit_other_and_null(seeded: AnalyticsStore) -> None:
    out = trends(seeded, breakdownFilter={"breakdown": "$browser", "breakdown_type": "event"})
    assert [(s["breakdown_value"], s["data"][-2:], s["count"]) for s in out.result] == [
        ("Chrome", [1, 1], 2.0),
        ("Firefox", [1, 0], 1.0),
    ]
    assert out.result[0]["label"] == "Chrome"
    limited = trends(seeded, breakdownFilter={"breakdown": "$browser", "breakdown_limit": 1})
    assert [s["breakdown_value"] for s in limited.result] == ["Chrome", BREAKDOWN_OTHER] and limited.has_more
    numbers = trends(seeded, breakdownFilter={"breakdown": "price"})
    assert [(s["breakdown_value"], s["count"]) for s in numbers.result] == [
        ("20", 1.0),
        ("5", 1.0),
        (BREAKDOWN_NULL, 1.0),
    ]


def test_breakdown_and_filter_by_person_property(seeded: AnalyticsStore) -> None:
    out = trends(seeded, breakdownFilter={"breakdown": "plan", "breakdown_type": "person"})
    assert [(s["breakdown_value"], s["count"]) for s in out.result] == [("pro", 2.0), ("free", 1.0)]
    pro = trends(
        seeded, properties=[{"key": "plan", "value": ["pro"], "operator": "exact", "type": "person"}]
    )
    assert pro.result[0]["data"][-2:] == [1, 1]


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ({"key": "$browser", "value": "Chrome"}, [1, 1]),
        ({"key": "$browser", "value": ["Chrome"], "operator": "is_not"}, [1, 0]),
        ({"key": "$browser", "value": "fire", "operator": "icontains"}, [1, 0]),
        ({"key": "$browser", "value": "^Chr", "operator": "regex"}, [1, 1]),
        ({"key": "price", "value": 10, "operator": "gt"}, [1, 0]),
        ({"key": "price", "operator": "is_set"}, [2, 0]),
        ({"key": "price", "operator": "is_not_set"}, [0, 1]),
    ],
)
def test_event_property_operators(seeded: AnalyticsStore, prop: dict[str, Any], expected: list[int]) -> None:
    out = trends(seeded, properties=[{**prop, "type": "event"}])
    assert out.result[0]["data"][-2:] == expected


def test_or_groups(seeded: AnalyticsStore) -> None:
    group = {
        "type": "OR",
        "values": [
            {"type": "AND", "values": [{"key": "price", "value": 20, "type": "event"}]},
            {"type": "AND", "values": [{"key": "price", "value": 5, "type": "event"}]},
        ],
    }
    assert trends(seeded, properties=group).result[0]["data"][-2:] == [2, 0]


def test_cohort_filters_read_current_dynamic_version_and_static_members(seeded: AnalyticsStore) -> None:
    members = CompiledQuery(
        "SELECT id AS person_id FROM persons_latest WHERE project_id = 1 AND properties LIKE '%pro%'", {}
    )
    seeded.replace_cohort_members(1, 7, 3, members)
    seeded.add_static_cohort_members(1, 8, [P2])
    in_dynamic = {"key": "id", "value": 7, "type": "cohort"}
    cohorts = {7: CohortSource(static=False, version=3), 8: CohortSource(static=True)}
    assert trends(seeded, cohorts, properties=[in_dynamic]).result[0]["data"][-2:] == [1, 1]
    stale = {7: CohortSource(static=False, version=2)}
    assert trends(seeded, stale, properties=[in_dynamic]).result[0]["data"][-2:] == [0, 0]
    static = [{"key": "id", "value": 8, "type": "cohort"}]
    assert trends(seeded, cohorts, properties=static).result[0]["data"][-2:] == [1, 0]
    excluded = [{"key": "id", "value": 8, "type": "cohort", "operator": "not_in"}]
    assert trends(seeded, cohorts, properties=excluded).result[0]["data"][-2:] == [1, 1]
    with pytest.raises(TrendsQueryError, match="Cohort with id 99 does not exist"):
        trends(seeded, cohorts, properties=[{"key": "id", "value": 99, "type": "cohort"}])


def test_breakdown_by_cohort(seeded: AnalyticsStore) -> None:
    members = CompiledQuery(
        "SELECT id AS person_id FROM persons_latest WHERE project_id = 1 AND properties LIKE '%pro%'", {}
    )
    seeded.replace_cohort_members(1, 7, 3, members)
    cohorts = {7: CohortSource(static=False, version=3, name="Pro plan")}
    out = trends(seeded, cohorts, breakdownFilter={"breakdown_type": "cohort", "breakdown": [7, "all"]})
    assert [(s["label"], s["breakdown_value"], s["data"][-2:]) for s in out.result] == [
        ("Pro plan", 7, [1, 1]),
        ("all users", "all", [2, 1]),
    ]


def test_values_are_bound_never_pasted(seeded: AnalyticsStore) -> None:
    hostile = "x') OR 1=1 --"
    out = trends(seeded, properties=[{"key": hostile, "value": hostile, "type": "event"}])
    assert out.result[0]["count"] == 0.0
    assert hostile not in out.hogql
