"""The cohort criteria tree: PostHog's validation messages, the stored form, and legacy groups."""

from __future__ import annotations

from typing import Any

import pytest

from hedgerow.query.filters import (
    BehavioralFilter,
    CohortFilter,
    FilterError,
    FilterGroup,
    PersonFilter,
    groups_to_properties,
    normalise_legacy_groups,
    normalised,
    parse_filters,
    parse_stored_filters,
    referenced_cohort_ids,
)


def tree(*leaves: dict[str, Any], kind: str = "OR") -> dict[str, Any]:
    return {"properties": {"type": kind, "values": [{"type": "AND", "values": list(leaves)}]}}


def refusal(raw: Any) -> FilterError:
    with pytest.raises(FilterError) as caught:
        parse_filters(raw)
    return caught.value


PAGEVIEW = {"key": "$pageview", "type": "behavioral", "value": "performed_event", "event_type": "events"}


@pytest.mark.parametrize(
    ("leaf", "message"),
    [
        (
            {"key": "email", "type": "person", "value": "x"},
            "Missing required keys for person filter: operator",
        ),
        (
            {"key": "email", "type": "person", "operator": "exact"},
            "Missing required keys for person filter: value",
        ),
        ({"key": "email", "type": "person"}, "Missing required keys for person filter: value, operator"),
        (
            {"key": "$pageview", "type": "behavioral", "value": "performed_event"},
            "Missing required keys for behavioral filter: event_type",
        ),
        (
            {"type": "behavioral", "value": "performed_event", "event_type": "events"},
            "Missing required keys for behavioral filter: key",
        ),
        ({"key": "id", "type": "cohort"}, "Missing required keys for cohort filter: value"),
        (
            {"key": "email", "type": "person", "operator": "exact", "value": None},
            "Missing required keys for person filter: value",
        ),
    ],
)
def test_missing_keys_are_named_per_leaf_type(leaf: dict[str, Any], message: str) -> None:
    error = refusal(tree(leaf))
    assert (error.detail, error.attr) == (message, "filters")


def test_missing_keys_are_found_in_nested_groups() -> None:
    raw = {
        "properties": {
            "type": "AND",
            "values": [
                {"type": "OR", "values": [{"type": "AND", "values": [{"key": "a", "type": "person"}]}]}
            ],
        }
    }
    assert refusal(raw).detail == "Missing required keys for person filter: value, operator"


def test_is_set_needs_no_value_and_null_keys_are_dropped() -> None:
    stored = normalised(
        parse_filters(tree({"key": "$some_prop", "type": "person", "operator": "is_set", "value": None}))
    )
    assert stored == tree({"key": "$some_prop", "type": "person", "operator": "is_set", "negation": False})


@pytest.mark.parametrize(
    ("leaf", "field"),
    [
        (PAGEVIEW | {"not_a_field": 1}, "not_a_field"),
        (PAGEVIEW | {"operator": "gte", "operator_value": [5]}, "operator_value"),
        (PAGEVIEW | {"event_type": "clicks"}, "event_type"),
        (PAGEVIEW | {"time_interval": "fortnight", "time_value": 1}, "time_interval"),
        ({"key": "name", "type": "cohort", "value": 3}, "key"),
    ],
)
def test_other_refusals_name_the_offending_field(leaf: dict[str, Any], field: str) -> None:
    error = refusal(tree(leaf))
    assert error.attr == "filters"
    assert f"'{field}'" in error.detail, error.detail


def test_operators_and_behaviours_are_free_strings_checked_when_calculating() -> None:
    """PostHog's schema types a person leaf's `operator` and a behavioral leaf's `value` as plain
    strings: unknown ones are saved and only fail the calculation."""
    odd_operator = {"key": "email", "type": "person", "operator": "resembles", "value": "x"}
    odd_behaviour = PAGEVIEW | {"value": "performed_event_sometimes"}
    for leaf in (odd_operator, odd_behaviour):
        assert normalised(parse_filters(tree(leaf))) == tree({"negation": False} | leaf)


def test_explicit_datetime_to_is_part_of_a_behavioral_leaf() -> None:
    ranged = PAGEVIEW | {"explicit_datetime": "-30d", "explicit_datetime_to": "-1d"}
    stored = normalised(parse_filters(tree(ranged)))
    assert stored["properties"]["values"][0]["values"][0]["explicit_datetime_to"] == "-1d"


def test_unknown_leaf_type_is_refused() -> None:
    error = refusal(tree({"key": "x", "type": "group", "value": 1}))
    assert "'group'" in error.detail and "union_tag_invalid" in error.detail


def test_extra_keys_are_refused_at_every_level() -> None:
    assert "'extra'" in refusal({"properties": {"type": "OR", "values": []}, "extra": 1}).detail
    assert "'label'" in refusal({"properties": {"type": "OR", "values": [], "label": "x"}}).detail


@pytest.mark.parametrize("raw", ["[Slkasd=lkxcn]", {"type": "OR", "values": []}, None, []])
def test_shape_error_is_reported_on_filters_detail(raw: Any) -> None:
    error = refusal(raw)
    assert (error.detail, error.attr) == (
        "Must contain a 'properties' key with type and values",
        "filters__detail",
    )


def test_all_negative_group_is_refused_but_a_positive_sibling_makes_it_valid() -> None:
    negated = {"key": "email", "type": "person", "operator": "exact", "value": "a", "negation": True}
    assert refusal(tree(negated)).detail == "Top level condition cannot be negated"
    both = tree(negated, {"key": "plan", "type": "person", "operator": "exact", "value": "pro"})
    assert parse_filters(both).properties is not None


def test_normalised_form_fills_defaults_coerces_and_keeps_order() -> None:
    raw = {
        "properties": {
            "type": "OR",
            "values": [
                {"key": "$some_prop", "value": "something", "type": "person", "operator": "exact"},
                {
                    "key": "$pageview",
                    "event_type": "events",
                    "time_value": "30",
                    "time_interval": "day",
                    "value": "performed_event",
                    "type": "behavioral",
                },
                {"key": "id", "type": "cohort", "value": "12"},
            ],
        }
    }
    stored = normalised(parse_filters(raw))
    assert stored == {
        "properties": {
            "type": "OR",
            "values": [
                {
                    "key": "$some_prop",
                    "type": "person",
                    "value": "something",
                    "operator": "exact",
                    "negation": False,
                },
                {
                    "key": "$pageview",
                    "type": "behavioral",
                    "value": "performed_event",
                    "negation": False,
                    "event_type": "events",
                    "time_value": 30,
                    "time_interval": "day",
                },
                {"key": "id", "type": "cohort", "value": 12, "negation": False},
            ],
        }
    }
    assert list(stored["properties"]["values"][0]) == ["key", "type", "value", "operator", "negation"]


def test_posthog_test_definitions_are_accepted() -> None:
    hogql = {
        "type": "behavioral",
        "value": "performed_event",
        "negation": False,
        "key": "PaymentSuccess",
        "event_type": "events",
        "event_filters": [
            {
                "key": "to_date(timestamp) = current_date() - INTERVAL '3 days'",
                "type": "hogql",
                "value": None,
            },
            {"key": "planId", "type": "event", "value": ["UPSC26STARTERV1"], "operator": "exact"},
        ],
        "explicit_datetime": "-30d",
    }
    sequence = {
        "key": "login",
        "type": "behavioral",
        "value": "performed_event_sequence",
        "event_type": "events",
        "time_interval": "day",
        "time_value": 30,
        "seq_event_type": "events",
        "seq_event": "signup",
        "seq_time_value": 7,
        "seq_time_interval": "day",
    }
    counted = PAGEVIEW | {"operator": "gte", "operator_value": 5}
    no_operator = PAGEVIEW | {"operator_value": 5}
    numeric_seq = sequence | {"seq_event": 7}
    for leaf in (hogql, sequence, counted, no_operator, numeric_seq, sequence | {"seq_event": None}):
        assert parse_filters(tree(leaf)).properties is not None
    stored = normalised(parse_filters(tree(hogql)))
    # Event filters keep every key the client sent except null-valued ones, like every other level.
    assert stored["properties"]["values"][0]["values"][0]["event_filters"] == [
        {"key": "to_date(timestamp) = current_date() - INTERVAL '3 days'", "type": "hogql"},
        {"key": "planId", "type": "event", "value": ["UPSC26STARTERV1"], "operator": "exact"},
    ]


def test_empty_properties_means_no_criteria() -> None:
    assert parse_filters({"properties": {}}).properties is None
    assert normalised(parse_filters({"properties": {}})) == {"properties": {}}


def test_stored_filters_parse_into_the_typed_tree() -> None:
    stored = normalised(
        parse_filters(
            tree(
                {"key": "id", "type": "cohort", "value": 4},
                PAGEVIEW,
                {"key": "email", "type": "person", "operator": "is_set"},
            )
        )
    )
    parsed = parse_stored_filters(stored)
    assert isinstance(parsed, FilterGroup)
    inner = parsed.values[0]
    assert isinstance(inner, FilterGroup)
    assert [type(v) for v in inner.values] == [CohortFilter, BehavioralFilter, PersonFilter]
    assert referenced_cohort_ids(parsed) == [4]
    assert parse_stored_filters({"properties": {}}) is None
    assert parse_stored_filters(None) is None


def test_legacy_groups_convert_to_an_or_of_and_groups() -> None:
    assert groups_to_properties([{"properties": {"team_id": "5"}}]) == {
        "type": "OR",
        "values": [{"type": "AND", "values": [{"key": "team_id", "value": "5", "type": "person"}]}],
    }
    converted = groups_to_properties(
        [
            {"action_id": 3, "days": 7, "count": 2, "count_operator": "gte"},
            {"event_id": "$pageview", "properties": [{"key": "plan", "value": "pro", "type": "event"}]},
        ]
    )
    assert converted == {
        "type": "OR",
        "values": [
            {
                "type": "AND",
                "values": [
                    {
                        "key": 3,
                        "type": "behavioral",
                        "value": "performed_event_multiple",
                        "event_type": "actions",
                        "time_interval": "day",
                        "time_value": 7,
                        "operator": "gte",
                        "operator_value": 2,
                    }
                ],
            },
            {
                "type": "AND",
                "values": [
                    {
                        "key": "$pageview",
                        "type": "behavioral",
                        "value": "performed_event",
                        "event_type": "events",
                        "time_interval": "day",
                        "time_value": 365,
                    },
                    {"key": "plan", "value": "pro", "type": "person"},
                ],
            },
        ],
    }


def test_legacy_groups_are_stored_with_every_key() -> None:
    assert normalise_legacy_groups([{"properties": {"team_id": "5"}}]) == [
        {
            "properties": {"team_id": "5"},
            "action_id": None,
            "event_id": None,
            "days": None,
            "count": None,
            "count_operator": None,
            "start_date": None,
            "end_date": None,
            "label": None,
        }
    ]
