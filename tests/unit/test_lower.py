"""The compiler's pure half: criteria -> plan, errors with their codes, and golden SQL per dialect."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlglot

from hedgerow.query.dialects.base import compile_plan, dialect_named
from hedgerow.query.lower import CohortRef, LoweringContext, lower
from hedgerow.query.plan import (
    CohortMembers,
    EventSequence,
    Except,
    Intersect,
    LoweringError,
    Nobody,
    PerformedEvent,
    PersonProperties,
    PropertyMatch,
    RegularEvents,
    Union,
    Window,
)
from hedgerow.query.timeparse import to_us

GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)
CTX = LoweringContext(
    project_id=3,
    now=NOW,
    timezone="Europe/Paris",
    cohorts={8: CohortRef(is_static=False, version=4), 9: CohortRef(is_static=True, version=None)},
    actions={5: [{"event": "$pageview", "url": "/pricing", "url_matching": "contains"}]},
)


def person(key: str, operator: str, value: Any = None, negation: bool = False) -> dict[str, Any]:
    return {"type": "person", "key": key, "operator": operator, "value": value, "negation": negation}


def tree(kind: str, *values: Any) -> dict[str, Any]:
    return {"properties": {"type": kind, "values": list(values)}}


def plan_of(filters: dict[str, Any]) -> Any:
    return lower(filters, CTX).root


def test_person_operators_lower_to_property_tests() -> None:
    assert plan_of(tree("AND", person("$browser", "exact", ["Chrome", 5, True]))) == PersonProperties(
        PropertyMatch("$browser", "in", ("Chrome", "5", "true"))
    )
    assert plan_of(tree("AND", person("age", "gt", "30"))) == PersonProperties(
        PropertyMatch("age", "num_cmp", (30.0,), "gt")
    )
    assert plan_of(tree("AND", person("plan", "lt", "m"))) == PersonProperties(
        PropertyMatch("plan", "str_cmp", ("m",), "lt")
    )
    assert plan_of(tree("AND", person("x", "is_not_set"))) == PersonProperties(
        PropertyMatch("x", "is_set", negated=True)
    )


def test_date_only_values_are_days_in_the_project_timezone() -> None:
    midnight_paris = to_us(datetime(2024, 5, 1, 22, 0, tzinfo=UTC))  # 2024-05-02 00:00 in Paris (CEST)
    exact = plan_of(tree("AND", person("d", "is_date_exact", "2024-05-02")))
    assert exact == PersonProperties(
        PropertyMatch("d", "date_cmp", (midnight_paris, midnight_paris + 86_400_000_000), "range")
    )
    after = plan_of(tree("AND", person("d", "is_date_after", "2024-05-02")))
    assert after == PersonProperties(PropertyMatch("d", "date_cmp", (midnight_paris + 86_399_000_000,), "gt"))


def test_negation_in_and_is_subtraction_and_mixed_or_uses_de_morgan() -> None:
    a, b, c = person("a", "is_set"), person("b", "is_set", negation=True), person("c", "is_set")
    pa, pb, pc = (PersonProperties(PropertyMatch(k, "is_set")) for k in "abc")
    assert plan_of(tree("AND", a, b)) == Except(pa, pb)
    # c and (a or not b) == c except (b except a)
    assert plan_of(tree("AND", c, {"type": "OR", "values": [a, b]})) == Except(pc, Except(pb, pa))
    assert plan_of(tree("OR", a, c)) == Union((pa, pc))
    assert plan_of(tree("AND", a, c)) == Intersect((pa, pc))


@pytest.mark.parametrize(
    ("filters", "message", "code"),
    [
        (
            tree("AND", person("a", "is_set", negation=True)),
            "Top level condition cannot be negated",
            "validation_error",
        ),
        (
            tree("OR", person("a", "is_set"), person("b", "is_set", negation=True)),
            "Top level",
            "validation_error",
        ),
        ({"properties": {"type": "AND", "values": []}}, "Cohort has no properties defined", "no_properties"),
        ({}, "Cohort has no properties defined", "no_properties"),
        (tree("AND", {"type": "OR", "values": []}), "empty group", "validation_error"),
        (tree("AND", person("a", "regex", "(")), "Invalid regex pattern", "invalid_regex"),
        (tree("AND", person("a", "regex", "x(?=y)")), "Invalid regex pattern", "invalid_regex"),
        (tree("AND", person("a", "flag_evaluates_to", True)), "not supported", "validation_error"),
        (
            tree("AND", {"type": "behavioral", "key": "x", "value": "nope", "event_type": "events"}),
            "Invalid behavioral",
            "validation_error",
        ),
        (
            tree(
                "AND", {"type": "behavioral", "key": "x", "value": "performed_event", "event_type": "events"}
            ),
            "time_value",
            "validation_error",
        ),
        (
            tree(
                "AND",
                {
                    "type": "behavioral",
                    "key": "x",
                    "value": "performed_event_multiple",
                    "event_type": "events",
                    "time_value": 1,
                    "time_interval": "day",
                    "operator_value": 0,
                },
            ),
            "'operator_value' must be greater than 0",
            "validation_error",
        ),
        (
            tree(
                "AND",
                {
                    "type": "behavioral",
                    "key": "x",
                    "value": "performed_event_regularly",
                    "event_type": "events",
                    "time_value": 1,
                    "time_interval": "day",
                    "operator_value": 1,
                    "total_periods": 2,
                    "min_periods": 3,
                },
            ),
            "min_periods cannot be greater than total_periods",
            "validation_error",
        ),
        (
            tree(
                "AND",
                {
                    "type": "behavioral",
                    "key": "x",
                    "value": "stopped_performing_event",
                    "event_type": "events",
                    "time_value": 1,
                    "time_interval": "day",
                    "seq_time_value": 2,
                    "seq_time_interval": "day",
                },
            ),
            "must be shorter",
            "validation_error",
        ),
        (
            tree(
                "AND",
                {
                    "type": "behavioral",
                    "key": 77,
                    "value": "performed_event",
                    "event_type": "actions",
                    "explicit_datetime": "-3d",
                },
            ),
            "Action 77 does not exist",
            "validation_error",
        ),
    ],
)
def test_uncalculable_criteria_raise_with_their_code(
    filters: dict[str, Any], message: str, code: str
) -> None:
    with pytest.raises(LoweringError) as caught:
        lower(filters, CTX)
    assert message in str(caught.value) and caught.value.code == code


def test_cohort_leaves_resolve_through_the_context() -> None:
    assert plan_of(tree("AND", {"type": "cohort", "key": "id", "value": "8"})) == CohortMembers(8, False, 4)
    assert plan_of(tree("AND", {"type": "cohort", "key": "id", "value": 9})) == CohortMembers(9, True, None)
    assert plan_of(tree("AND", {"type": "cohort", "key": "id", "value": 1234})) == Nobody()


def test_legacy_groups_are_an_or_of_and_groups() -> None:
    plan = lower(
        {},
        CTX,
        groups=[
            {"properties": {"plan": "pro"}},
            {"event_id": "signup", "days": 7, "count": 2, "count_operator": "gte"},
        ],
    )
    start = to_us(datetime(2024, 6, 8, 12, 0, tzinfo=UTC))
    assert plan.root == Union(
        (
            PersonProperties(PropertyMatch("plan", "in", ("pro",))),
            PerformedEvent(plan.root.parts[1].events, Window(start, to_us(NOW)), "gte", 2),
        )
    )


def test_windows_months_are_calendar_months_and_sequences_fixed_lengths() -> None:
    leaf = {
        "type": "behavioral",
        "key": "a",
        "value": "performed_event_sequence",
        "event_type": "events",
        "time_value": 1,
        "time_interval": "month",
        "seq_event": "b",
        "seq_time_value": 2,
        "seq_time_interval": "hour",
    }
    plan = plan_of(tree("AND", leaf))
    assert isinstance(plan, EventSequence)
    assert plan.window == Window(to_us(datetime(2024, 5, 15, 12, 0, tzinfo=UTC)), to_us(NOW))
    assert plan.within_us == 2 * 3600 * 1_000_000
    regular = plan_of(
        tree(
            "AND",
            {
                **leaf,
                "value": "performed_event_regularly",
                "operator_value": 1,
                "total_periods": 3,
                "min_periods": 1,
            },
        )
    )
    assert isinstance(regular, RegularEvents)
    assert regular.boundaries_us == tuple(
        to_us(datetime(2024, m, 15, 12, 0, tzinfo=UTC)) for m in (3, 4, 5, 6)
    )


def test_minute_windows_are_read_as_months_like_posthog() -> None:
    """PostHog turns a window into a relative date by the interval's first letter, so `minute`
    becomes `m`, a month; stopped/restarted recent windows go the same way."""
    leaf = {
        "type": "behavioral",
        "key": "a",
        "value": "performed_event",
        "event_type": "events",
        "time_value": 2,
        "time_interval": "minute",
    }
    plan = plan_of(tree("AND", leaf))
    assert isinstance(plan, PerformedEvent)
    assert plan.window == Window(to_us(datetime(2024, 4, 15, 12, 0, tzinfo=UTC)), to_us(NOW))
    stopped = plan_of(
        tree(
            "AND",
            leaf
            | {
                "value": "stopped_performing_event",
                "time_value": 1,
                "time_interval": "year",
                "seq_time_value": 1,
                "seq_time_interval": "minute",
            },
        )
    )
    assert stopped.remove.window == Window(to_us(datetime(2024, 5, 15, 12, 0, tzinfo=UTC)), to_us(NOW))


def test_user_values_are_bound_never_pasted() -> None:
    sneaky = "x'); DROP TABLE events; --"
    filters = tree(
        "AND",
        person(sneaky, "exact", sneaky),
        {
            "type": "behavioral",
            "key": sneaky,
            "value": "performed_event",
            "event_type": "events",
            "explicit_datetime": "-3d",
        },
    )
    for name in ("duckdb", "clickhouse"):
        compiled = compile_plan(lower(filters, CTX), dialect_named(name))
        assert "DROP" not in compiled.sql
        assert sneaky in compiled.params.values()


GOLDEN_CASES: dict[str, dict[str, Any]] = {
    "person_and_not_cohort": tree(
        "AND",
        person("$browser", "icontains", "chrome"),
        person("age", "between", [18, 30]),
        {"type": "cohort", "key": "id", "value": 8, "negation": True},
    ),
    "performed_event_multiple_on_action": tree(
        "AND",
        {
            "type": "behavioral",
            "key": 5,
            "value": "performed_event_multiple",
            "event_type": "actions",
            "time_value": 30,
            "time_interval": "day",
            "operator": "gte",
            "operator_value": 3,
            "event_filters": [{"type": "event", "key": "$os", "operator": "is_not", "value": "Linux"}],
        },
    ),
    "sequence_or_first_time": tree(
        "OR",
        {
            "type": "behavioral",
            "key": "signup",
            "value": "performed_event_sequence",
            "event_type": "events",
            "time_value": 7,
            "time_interval": "day",
            "seq_event": "purchase",
            "seq_time_value": 1,
            "seq_time_interval": "day",
        },
        {
            "type": "behavioral",
            "key": "purchase",
            "value": "performed_event_first_time",
            "event_type": "events",
            "time_value": 7,
            "time_interval": "day",
        },
    ),
    "regularly_and_date": tree(
        "AND",
        {
            "type": "behavioral",
            "key": "login",
            "value": "performed_event_regularly",
            "event_type": "events",
            "time_value": 1,
            "time_interval": "week",
            "operator": "gte",
            "operator_value": 2,
            "total_periods": 3,
            "min_periods": 2,
        },
        person("signup_date", "is_date_before", "-30d"),
    ),
    "restarted": tree(
        "AND",
        {
            "type": "behavioral",
            "key": "$pageview",
            "value": "restarted_performing_event",
            "event_type": "events",
            "time_value": 30,
            "time_interval": "day",
            "seq_time_value": 7,
            "seq_time_interval": "day",
        },
    ),
}


@pytest.mark.parametrize("dialect", ["duckdb", "clickhouse"])
@pytest.mark.parametrize("case", list(GOLDEN_CASES))
def test_golden_sql(case: str, dialect: str) -> None:
    compiled = compile_plan(lower(GOLDEN_CASES[case], CTX), dialect_named(dialect))
    text = compiled.sql + "\n-- params: " + json.dumps(compiled.params, sort_keys=True) + "\n"
    path = GOLDEN / f"{case}.{dialect}.sql"
    if os.environ.get("HEDGEROW_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text()
    sqlglot.parse_one(compiled.sql, read=dialect)  # stays valid in the engine's dialect
