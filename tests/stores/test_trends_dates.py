"""Date operators of trends property filters (insights-trends.md §4.5), identical on every engine.

Values are read as cohort criteria read them: ISO dates and date-times (naive ones as UTC),
unix seconds; a date-only filter value is a whole day in the project's timezone; relative values
(`-4d`) count back from when the query runs. Anything else never matches.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from hedgerow.domain.insights.trends import run_trends
from hedgerow.query.trends import TrendsQueryError
from hedgerow.store.base import AnalyticsStore, PersonVersion
from tests.stores.test_trends import NOW, P1, P2, P3, event

SEEN = {
    "day": "2012-01-10",
    "afternoon": "2012-01-12T15:00:00Z",
    "naive": "2012-01-12 08:30:00",
    "unix": 1326355200,  # 2012-01-12T08:00:00Z
    "offset": "2012-01-12T23:30:00-05:00",  # 2012-01-13T04:30:00Z
    "garbage": "not a date",
}


@pytest.fixture
def visits(store: AnalyticsStore) -> AnalyticsStore:
    store.append_events(
        [
            event(P1, "2012-01-14 12:00:00", name="visit", seen=value, which=name)
            for name, value in SEEN.items()
        ]
        + [event(P3, "2012-01-14 12:00:00", name="visit", which="missing")]
    )
    store.append_person_versions(
        [
            PersonVersion(1, P1, json.dumps({"joined": "2011-06-01"}), True, NOW, 1),
            PersonVersion(1, P2, json.dumps({"joined": "2012-01-02T10:00:00Z"}), True, NOW, 1),
        ]
    )
    store.append_events([event(P2, "2012-01-14 12:00:00", name="visit", which="by p2")])
    return store


def matching(store: AnalyticsStore, prop: dict[str, Any], timezone: str = "UTC") -> set[str]:
    query = {
        "kind": "TrendsQuery",
        "series": [{"kind": "EventsNode", "event": "visit"}],
        "dateRange": {"date_from": "-7d"},
        "properties": [prop],
        "breakdownFilter": {"breakdown": "which", "breakdown_limit": 50},
    }
    out = run_trends(store, query, project_id=1, timezone=timezone, now=NOW, cohorts={})
    return {s["breakdown_value"] for s in out.result if s["count"]}


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        # A date-only value is the whole day.
        ("is_date_exact", "2012-01-12", {"afternoon", "naive", "unix"}),
        ("is_date_exact", "2012-01-12T15:00:00Z", {"afternoon"}),
        ("is_date_before", "2012-01-12", {"day"}),
        # A date-only `after` means after that whole day.
        ("is_date_after", "2012-01-12", {"offset"}),
        ("is_date_after", "2012-01-12T12:00:00", {"afternoon", "offset"}),
        # Four days before 2012-01-15T05:01:34Z.
        ("is_date_before", "-4d", {"day"}),
        ("is_date_after", "-4d", {"afternoon", "naive", "unix", "offset"}),
    ],
)
def test_event_property_dates(visits: AnalyticsStore, operator: str, value: str, expected: set[str]) -> None:
    assert (
        matching(visits, {"key": "seen", "operator": operator, "value": value, "type": "event"}) == expected
    )


def test_a_date_only_value_is_a_day_in_the_projects_timezone(visits: AnalyticsStore) -> None:
    prop = {"key": "seen", "operator": "is_date_exact", "value": "2012-01-12", "type": "event"}
    # 2012-01-12 in New York is 05:00Z on the 12th to 05:00Z on the 13th.
    assert matching(visits, prop, timezone="America/New_York") == {"afternoon", "naive", "unix", "offset"}


def test_person_property_dates(visits: AnalyticsStore) -> None:
    before = {"key": "joined", "operator": "is_date_before", "value": "2012-01-01", "type": "person"}
    assert matching(visits, before) == set(SEEN)
    after = {"key": "joined", "operator": "is_date_after", "value": "2012-01-01", "type": "person"}
    assert matching(visits, after) == {"by p2"}


def test_a_value_that_is_not_a_date_is_refused(visits: AnalyticsStore) -> None:
    for value in ("yesterday", ["2012-01-01", "2012-01-02"], None):
        with pytest.raises(TrendsQueryError) as raised:
            matching(visits, {"key": "seen", "operator": "is_date_before", "value": value, "type": "event"})
        assert raised.value.attr == "properties"
