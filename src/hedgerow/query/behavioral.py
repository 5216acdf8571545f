"""Behavioral criteria (`type: "behavioral"`) lowered to event plans.

Windows are rolling: `time_value` `time_interval`s back from `now` (calendar months and years),
or `explicit_datetime` (relative or absolute) up to `explicit_datetime_to` or `now`. As in
PostHog, a look-back window is turned into a relative date by its interval's first letter, so a
`minute` window is read as a month (`-5m`); sequence and period lengths keep their own unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from hedgerow.query.plan import (
    CompareOp,
    EventMatch,
    EventSequence,
    Except,
    FirstTimeEvent,
    Intersect,
    LoweringError,
    PerformedEvent,
    Plan,
    PropertyMatch,
    RegularEvents,
    StepMatch,
    Window,
)
from hedgerow.query.properties import check_regex, filter_match
from hedgerow.query.timeparse import fixed_length_us, parse_point, shift_back, to_us

INTERVALS = ("minute", "hour", "day", "week", "month", "year")
COUNT_OPS: dict[str | None, CompareOp] = {
    None: "eq",
    "eq": "eq",
    "exact": "eq",
    "gte": "gte",
    "gt": "gt",
    "lte": "lte",
    "lt": "lt",
}
KINDS = (
    "performed_event",
    "performed_event_multiple",
    "performed_event_first_time",
    "performed_event_sequence",
    "stopped_performing_event",
    "restarted_performing_event",
    "performed_event_regularly",
)
ELEMENT_FIELDS = ("selector", "tag_name", "text", "href")


def _positive_int(leaf: Mapping[str, Any], name: str) -> int:
    raw = leaf.get(name)
    try:
        value = int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise LoweringError(f"Behavioral criterion needs a positive integer '{name}'") from None
    if value <= 0:
        raise LoweringError(f"'{name}' must be greater than 0")
    return value


def _interval(leaf: Mapping[str, Any], name: str) -> str:
    value = leaf.get(name)
    if value not in INTERVALS:
        raise LoweringError(f"Behavioral criterion needs '{name}' (one of {', '.join(INTERVALS)})")
    return str(value)


def _look_back(now: datetime, amount: int, interval: str) -> datetime:
    """PostHog's relative date `-{amount}{interval[0]}`: `minute` shares `month`'s letter."""
    return shift_back(now, amount, "month" if interval == "minute" else interval)


def _event_properties(props: Any, *, now: datetime, timezone: str) -> tuple[PropertyMatch, ...]:
    matches = []
    for prop in props or []:
        if not isinstance(prop, dict):
            raise LoweringError("Invalid event property filter")
        kind = prop.get("type", "event")
        if kind != "event":
            raise LoweringError(f"Event filters of type '{kind}' are not supported in cohorts")
        matches.append(filter_match(prop, now=now, timezone=timezone))
    return tuple(matches)


def _action_step(step: Mapping[str, Any], *, now: datetime, timezone: str) -> StepMatch:
    if any(step.get(name) for name in ELEMENT_FIELDS):
        raise LoweringError("Action steps matching page elements are not supported in cohorts")
    matching = step.get("url_matching") or "contains"
    if matching not in ("contains", "exact", "regex"):
        raise LoweringError(f"Invalid url_matching '{matching}'")
    url = step.get("url") or None
    if url is not None and matching == "regex":
        check_regex(url)
    return StepMatch(
        event=step.get("event") or None,
        url=url,
        url_matching=matching,  # type: ignore[arg-type]
        properties=_event_properties(step.get("properties"), now=now, timezone=timezone),
    )


def _event_match(
    key: Any,
    event_type: Any,
    filters: Any,
    *,
    now: datetime,
    timezone: str,
    actions: Mapping[int, Sequence[Mapping[str, Any]]],
) -> EventMatch:
    extra = _event_properties(filters, now=now, timezone=timezone)
    if event_type == "actions":
        try:
            action_id = int(key)
        except (TypeError, ValueError):
            raise LoweringError(f"Invalid action id '{key}'") from None
        if action_id not in actions:
            raise LoweringError(f"Action {action_id} does not exist")
        steps = tuple(_action_step(s, now=now, timezone=timezone) for s in actions[action_id])
        if not steps:
            raise LoweringError(f"Action {action_id} has no steps")
        return EventMatch(steps=steps, filters=extra)
    if event_type not in (None, "events"):
        raise LoweringError(f"Invalid event_type '{event_type}'")
    if not isinstance(key, str | int) or key == "":
        raise LoweringError("Behavioral criterion needs an event name")
    return EventMatch(steps=(StepMatch(event=str(key)),), filters=extra)


def _main_window(leaf: Mapping[str, Any], *, now: datetime, timezone: str) -> Window:
    explicit = leaf.get("explicit_datetime")
    if isinstance(explicit, str) and explicit.strip():
        start, _ = parse_point(explicit, now=now, timezone=timezone)
        to = leaf.get("explicit_datetime_to")
        end = parse_point(to, now=now, timezone=timezone)[0] if isinstance(to, str) and to.strip() else now
        return Window(to_us(start), to_us(end))
    amount = _positive_int(leaf, "time_value")
    return Window(to_us(_look_back(now, amount, _interval(leaf, "time_interval"))), to_us(now))


def lower_behavioral(
    leaf: Mapping[str, Any],
    *,
    now: datetime,
    timezone: str,
    actions: Mapping[int, Sequence[Mapping[str, Any]]],
) -> Plan:
    kind = leaf.get("value")
    if kind not in KINDS:
        raise LoweringError("Invalid behavioral property value for Cohort")
    events = _event_match(
        leaf.get("key"),
        leaf.get("event_type"),
        leaf.get("event_filters"),
        now=now,
        timezone=timezone,
        actions=actions,
    )
    now_us = to_us(now)
    if kind == "performed_event":
        return PerformedEvent(events, _main_window(leaf, now=now, timezone=timezone))
    if kind == "performed_event_multiple":
        op = _count_op(leaf)
        count = _positive_int(leaf, "operator_value")
        return PerformedEvent(events, _main_window(leaf, now=now, timezone=timezone), op, count)
    if kind == "performed_event_first_time":
        return FirstTimeEvent(events, _main_window(leaf, now=now, timezone=timezone))
    if kind == "performed_event_sequence":
        then = _event_match(
            leaf.get("seq_event"),
            leaf.get("seq_event_type") or "events",
            None,
            now=now,
            timezone=timezone,
            actions=actions,
        )
        within = fixed_length_us(_positive_int(leaf, "seq_time_value"), _interval(leaf, "seq_time_interval"))
        return EventSequence(events, then, _main_window(leaf, now=now, timezone=timezone), within)
    if kind == "performed_event_regularly":
        return _regularly(leaf, events, now=now)
    long_start = to_us(_look_back(now, _positive_int(leaf, "time_value"), _interval(leaf, "time_interval")))
    recent = _look_back(now, _positive_int(leaf, "seq_time_value"), _interval(leaf, "seq_time_interval"))
    recent_start = to_us(recent)
    if recent_start <= long_start:
        raise LoweringError("The recent window (seq_time_*) must be shorter than the time window (time_*)")
    in_recent = PerformedEvent(events, Window(recent_start, now_us))
    between = PerformedEvent(events, Window(long_start, recent_start - 1))
    if kind == "stopped_performing_event":
        return Except(between, in_recent)
    before = PerformedEvent(events, Window(None, long_start - 1))
    return Except(Intersect((before, in_recent)), between)


def _count_op(leaf: Mapping[str, Any]) -> CompareOp:
    operator = leaf.get("operator")
    if operator not in COUNT_OPS:
        raise LoweringError(f"Invalid count operator '{operator}'")
    return COUNT_OPS[operator]


def _regularly(leaf: Mapping[str, Any], events: EventMatch, *, now: datetime) -> Plan:
    length = _positive_int(leaf, "time_value")
    interval = _interval(leaf, "time_interval")
    total = _positive_int(leaf, "total_periods")
    minimum = _positive_int(leaf, "min_periods")
    if minimum > total:
        raise LoweringError("min_periods cannot be greater than total_periods")
    count = _positive_int(leaf, "operator_value")
    boundaries = tuple(to_us(shift_back(now, length * k, interval)) for k in range(total, -1, -1))
    return RegularEvents(events, boundaries, _count_op(leaf), count, minimum)
