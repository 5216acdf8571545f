"""Golden SQL of the trends compiler per dialect: what each engine is asked, values bound as parameters.

Regenerate with HEDGEROW_UPDATE_GOLDEN=1 after an intended change, and read the diff.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlglot

from hedgerow.query.trends import CohortSource, TrendsContext, TrendsQueryError, compile_series

GOLDEN = Path(__file__).parent / "golden"
CTX = TrendsContext(
    project_id=1,
    timezone="Europe/Paris",
    date_from=datetime(2024, 1, 1, tzinfo=UTC),
    date_to=datetime(2024, 1, 7, 23, 59, 59, 999999, tzinfo=UTC),
    interval="day",
    cohorts={3: CohortSource(static=False, version=2), 4: CohortSource(static=True)},
    actions={9: [{"event": "$pageview", "url": "/pricing", "url_matching": "contains"}]},
)
VIEWS = {"kind": "EventsNode", "event": "$pageview"}
CASES: dict[str, dict[str, Any]] = {
    "trends_dau_breakdown_person": {
        "series": [{**VIEWS, "math": "dau"}],
        "breakdownFilter": {"breakdown": "plan", "breakdown_type": "person"},
        "properties": {
            "type": "AND",
            "values": [
                {
                    "type": "OR",
                    "values": [{"key": "$browser", "value": ["Chrome", "Safari"], "type": "event"}],
                },
                {"type": "AND", "values": [{"key": "id", "value": 3, "type": "cohort"}]},
                {
                    "type": "AND",
                    "values": [{"key": "id", "value": 4, "type": "cohort", "operator": "not_in"}],
                },
            ],
        },
    },
    "trends_p90_action": {
        "series": [{"kind": "ActionsNode", "id": 9, "math": "p90", "math_property": "amount"}]
    },
    "trends_weekly_active": {"series": [{**VIEWS, "math": "weekly_active"}]},
    "trends_date_properties": {
        "series": [VIEWS],
        "properties": [
            {"key": "signed_up", "operator": "is_date_exact", "value": "2024-01-03", "type": "person"},
            {"key": "paid_at", "operator": "is_date_after", "value": "-3d", "type": "event"},
        ],
    },
}


@pytest.mark.parametrize("dialect", ["duckdb", "clickhouse"])
@pytest.mark.parametrize("case", list(CASES))
def test_golden_sql(case: str, dialect: str) -> None:
    compiled = compile_series({"kind": "TrendsQuery", **CASES[case]}, 0, CTX, dialect)
    text = compiled.sql + "\n-- params: " + json.dumps(compiled.params, sort_keys=True, default=str) + "\n"
    path = GOLDEN / f"{case}.{dialect}.sql"
    if os.environ.get("HEDGEROW_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text()
    sqlglot.parse_one(compiled.sql, read=dialect)  # stays valid in the engine's dialect


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"series": []}, "at least one series"),
        ({"series": [{"kind": "DataWarehouseNode"}]}, "Only EventsNode and ActionsNode"),
        ({"series": [{**VIEWS, "math": "hogql"}]}, 'Math "hogql" is not supported.'),
        ({"series": [VIEWS], "properties": [{"key": "x", "type": "element"}]}, 'type "element"'),
        (
            {"series": [VIEWS], "properties": [{"key": "x", "operator": "flag_evaluates_to", "value": 1}]},
            "operator",
        ),
        (
            {"series": [VIEWS], "properties": [{"key": "x", "operator": "is_date_before", "value": "soon"}]},
            "Invalid date value 'soon'",
        ),
        (
            {"series": [VIEWS], "properties": [{"key": "id", "value": 99, "type": "cohort"}]},
            "id 99 does not exist",
        ),
        ({"series": [VIEWS], "breakdownFilter": {"breakdown": "x", "breakdown_type": "group"}}, "group"),
    ],
)
def test_refusals(source: dict[str, Any], message: str) -> None:
    with pytest.raises(TrendsQueryError, match=message):
        compile_series({"kind": "TrendsQuery", **source}, 0, CTX, "duckdb")
