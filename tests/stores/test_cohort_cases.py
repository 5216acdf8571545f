"""Cohort membership on every analytics engine agrees exactly with the reference evaluator.

A generated project (persons with varied property types, merged distinct ids, a deleted person,
events over a year, a static and a dynamic cohort, an action) is loaded into each engine; every
case is compiled for that engine, run, and compared with tests/reference.py over the same data.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hedgerow.query.dialects import clickhouse, duckdb
from hedgerow.query.dialects.base import CompiledSQL
from hedgerow.query.lower import CohortRef, LoweringContext, lower
from hedgerow.store.base import AnalyticsStore, CompiledQuery, DistinctIdVersion, EventRow, PersonVersion
from tests.reference import Reference, World
from tests.stores.engines import ENGINES, open_test_store

PROJECT = 1
NOW = datetime(2024, 6, 15, 12, 0, 0, tzinfo=UTC)
NESTED_DYNAMIC = 101
NESTED_STATIC = 102
ACTION = 7
ACTION_STEPS: list[dict[str, Any]] = [
    {"event": "$pageview", "url": "/pricing", "url_matching": "contains"},
    {
        "event": "signup",
        "properties": [{"key": "plan", "value": "pro", "operator": "exact", "type": "event"}],
    },
]
DYNAMIC_CRITERIA = {
    "properties": {
        "type": "AND",
        "values": [{"key": "plan", "type": "person", "operator": "exact", "value": "pro"}],
    }
}
COMPILERS = {"duckdb": duckdb.compile_members, "clickhouse": clickhouse.compile_members}


def pid(n: int) -> str:
    return str(uuid.UUID(int=0x1000 + n, version=4))


def _person_props(rng: random.Random, i: int) -> dict[str, Any]:
    choices: dict[str, list[Any]] = {
        "email": [f"user{i}@example.com", f"User{i}@Example.ORG", f"u{i}@test.io"],
        "$browser": ["Chrome", "Firefox", "Safari", "chrome", None, "__missing__"],
        "age": [rng.randint(10, 70), str(rng.randint(10, 70)), "unknown", 35, "35", "__missing__", 7.5],
        "plan": ["free", "pro", "Pro", "__missing__", "enterprise"],
        "is_paid": [True, False, "true", "false", "__missing__"],
        "signup": [
            "2024-05-01",
            "2024-06-10T10:00:00Z",
            "2024-06-14 23:30:00",
            "2024-05-01T08:00:00+02:00",
            1717000000,
            "1718000000",
            "not a date",
            "__missing__",
        ],
        "score": [1.5, 2.25, "3.5", None, -4, "__missing__"],
        "name": ["O'Brien", "a%b", "x_y", "Zoë", "plain", "__missing__"],
        "$initial_geoip_subdivision_1_name": ["New South Wales", "Victoria", "__missing__"],
        "tags": [["a", "b"], {"nested": 1}, "__missing__"],
    }
    props = {k: rng.choice(v) for k, v in choices.items()}
    return {k: v for k, v in props.items() if v != "__missing__"}


def generate(seed: int = 7, persons: int = 90, events_per_person: int = 30) -> World:
    rng = random.Random(seed)
    people = {pid(i): _person_props(rng, i) for i in range(persons)}
    owner: dict[str, str] = {}
    for i in range(persons):
        owner[f"d{i}"] = pid(i)
        if i % 3 == 0:
            owner[f"d{i}b"] = pid(i)
    events: list[tuple[str, str, str, datetime, dict[str, Any]]] = []
    names = ["$pageview", "signup", "login", "purchase", "$autocapture"]
    urls = [
        "https://x.com/pricing",
        "https://x.com/home",
        "https://x.com/pricing?plan=pro",
        "https://x.com/PRICING",
    ]
    for n, distinct_id in enumerate(sorted(owner)):
        count = rng.randint(0, events_per_person)
        for k in range(count):
            back = rng.choice([rng.uniform(0, 3), rng.uniform(0, 40), rng.uniform(0, 400)])
            ts = NOW - timedelta(days=back)
            props: dict[str, Any] = {"$current_url": rng.choice(urls), "plan": rng.choice(["pro", "free"])}
            if rng.random() < 0.5:
                props["amount"] = rng.randint(1, 100)
            events.append(
                (str(uuid.UUID(int=(n << 32) + k, version=4)), distinct_id, rng.choice(names), ts, props)
            )
    # Merges after ingestion: these distinct ids now belong to someone else, old events included.
    for i in range(0, persons, 11):
        owner[f"d{i}"] = pid((i + 5) % persons)
    # A person deleted since: gone from persons, their distinct ids still resolve.
    people.pop(pid(persons - 1), None)
    world = World(now=NOW, persons=people, owner=owner, events=events)
    world.actions[ACTION] = ACTION_STEPS
    world.static[NESTED_STATIC] = {pid(i) for i in range(0, persons, 4)}
    world.dynamic[NESTED_DYNAMIC] = Reference(world).members(DYNAMIC_CRITERIA)
    return world


def load(store: AnalyticsStore, world: World) -> None:
    persons = [
        PersonVersion(
            PROJECT, p, json.dumps(props, separators=(",", ":")), True, NOW - timedelta(days=500), 1
        )
        for p, props in world.persons.items()
    ]
    deleted = sorted(set(world.owner.values()) - set(world.persons))
    persons += [PersonVersion(PROJECT, p, "{}", True, NOW - timedelta(days=500), 1) for p in deleted]
    persons += [
        PersonVersion(PROJECT, p, "{}", True, NOW - timedelta(days=500), 2, is_deleted=True) for p in deleted
    ]
    store.append_person_versions(persons)
    first_owner = {d: pid(int(d[1:].rstrip("b"))) for d in world.owner}
    mapping = [DistinctIdVersion(PROJECT, d, first_owner[d], 1) for d in world.owner]
    mapping += [DistinctIdVersion(PROJECT, d, p, 2) for d, p in world.owner.items() if p != first_owner[d]]
    store.append_distinct_id_versions(mapping)
    store.append_events(
        [
            EventRow(u, PROJECT, name, d, first_owner[d], json.dumps(props, separators=(",", ":")), ts, ts)
            for u, d, name, ts, props in world.events
        ]
    )
    store.add_static_cohort_members(PROJECT, NESTED_STATIC, sorted(world.static[NESTED_STATIC]))
    plan = lower(DYNAMIC_CRITERIA, context())
    compiled = COMPILERS[store.dialect](plan)
    store.replace_cohort_members(PROJECT, NESTED_DYNAMIC, 1, CompiledQuery(compiled.sql, compiled.params))


def context() -> LoweringContext:
    return LoweringContext(
        project_id=PROJECT,
        now=NOW,
        cohorts={NESTED_DYNAMIC: CohortRef(is_static=False, version=1), NESTED_STATIC: CohortRef(True, None)},
        actions={ACTION: ACTION_STEPS},
    )


def compile_for(store: AnalyticsStore, filters: dict[str, Any]) -> CompiledSQL:
    return COMPILERS[store.dialect](lower(filters, context()))


def members(store: AnalyticsStore, filters: dict[str, Any]) -> set[str]:
    compiled = compile_for(store, filters)
    return {str(row[0]) for row in store.query(CompiledQuery(compiled.sql, compiled.params))}


# --- the cases ----------------------------------------------------------------------------------


def person(key: str, operator: str | None, value: Any = None, *, negation: bool = False) -> dict[str, Any]:
    leaf: dict[str, Any] = {"key": key, "type": "person", "negation": negation}
    if operator is not None:
        leaf["operator"] = operator
    if value is not None:
        leaf["value"] = value
    return leaf


def behavioral(key: Any, kind: str, *, negation: bool = False, **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "type": "behavioral",
        "value": kind,
        "event_type": "events",
        "negation": negation,
        **extra,
    }


def cohort(cohort_id: int, *, negation: bool = False) -> dict[str, Any]:
    return {"key": "id", "type": "cohort", "value": cohort_id, "negation": negation}


def AND(*values: Any) -> dict[str, Any]:
    return {"type": "AND", "values": list(values)}


def OR(*values: Any) -> dict[str, Any]:
    return {"type": "OR", "values": list(values)}


DAYS_30 = {"time_value": 30, "time_interval": "day"}
PAGEVIEW_30 = behavioral("$pageview", "performed_event", **DAYS_30)

CASES: dict[str, dict[str, Any]] = {
    "exact string": AND(person("plan", "exact", "pro")),
    "exact default operator": AND(person("plan", None, "pro")),
    "exact list any of": AND(person("$browser", "exact", ["Chrome", "Safari"])),
    "exact number equals numeric string": AND(person("age", "exact", 35)),
    "exact boolean equals string true": AND(person("is_paid", "exact", True)),
    "exact string true equals boolean": AND(person("is_paid", "exact", "true")),
    "exact dollar key": AND(person("$initial_geoip_subdivision_1_name", "exact", "New South Wales")),
    "exact quote in value": AND(person("name", "exact", "O'Brien")),
    "is_not matches missing": AND(person("plan", "is_not", "pro")),
    "in and not_in": AND(person("plan", "in", ["pro", "free"]), person("$browser", "not_in", ["Chrome"])),
    "icontains case-insensitive": AND(person("email", "icontains", "EXAMPLE")),
    "icontains wildcard characters are literal": AND(person("name", "icontains", "%")),
    "icontains underscore literal": AND(person("name", "icontains", "_")),
    "icontains non-ascii": AND(person("name", "icontains", "zoë")),
    "not_icontains matches missing": AND(person("email", "not_icontains", "example")),
    "regex": AND(person("email", "regex", r"^user\d+@")),
    "regex case-sensitive": AND(person("plan", "regex", "^P")),
    "not_regex": AND(person("$browser", "not_regex", "^[Cc]")),
    "gt numeric": AND(person("age", "gt", 40)),
    "gte numeric string value": AND(person("age", "gte", "35")),
    "lt float": AND(person("score", "lt", 2.25)),
    "lte negative": AND(person("score", "lte", -4)),
    "gt string comparison": AND(person("plan", "gt", "free")),
    "min and max": AND(person("age", "min", 20), person("age", "max", 50)),
    "between": AND(person("age", "between", [20, 40])),
    "not_between": AND(person("age", "not_between", [20, 40])),
    "is_set": AND(person("$browser", "is_set")),
    "is_set on list and object": AND(person("tags", "is_set")),
    "is_not_set": AND(person("$browser", "is_not_set")),
    "is_date_before absolute": AND(person("signup", "is_date_before", "2024-06-01")),
    "is_date_after date-only is end of day": AND(person("signup", "is_date_after", "2024-05-01")),
    "is_date_after relative": AND(person("signup", "is_date_after", "-7d")),
    "is_date_exact date-only": AND(person("signup", "is_date_exact", "2024-05-01")),
    "is_date_exact date-time": AND(person("signup", "is_date_exact", "2024-06-10T10:00:00Z")),
    "performed_event": AND(PAGEVIEW_30),
    "performed_event hours": AND(behavioral("login", "performed_event", time_value=36, time_interval="hour")),
    "performed_event explicit relative": AND(
        behavioral("signup", "performed_event", explicit_datetime="-2w")
    ),
    "performed_event explicit range": AND(
        behavioral(
            "purchase",
            "performed_event",
            explicit_datetime="2024-03-01",
            explicit_datetime_to="2024-05-01T00:00:00Z",
        )
    ),
    "performed_event with event filters": AND(
        behavioral(
            "purchase",
            "performed_event",
            time_value=1,
            time_interval="year",
            event_filters=[
                {"key": "plan", "type": "event", "value": ["pro"], "operator": "exact"},
                {"key": "amount", "type": "event", "value": 50, "operator": "gt"},
            ],
        )
    ),
    "performed_event on action": AND(
        {"key": ACTION, "type": "behavioral", "value": "performed_event", "event_type": "actions", **DAYS_30}
    ),
    "performed_event_multiple gte": AND(
        behavioral("$pageview", "performed_event_multiple", operator="gte", operator_value=3, **DAYS_30)
    ),
    "performed_event_multiple exact default": AND(
        behavioral("login", "performed_event_multiple", operator_value=2, time_value=2, time_interval="month")
    ),
    "performed_event_multiple lt": AND(
        behavioral("signup", "performed_event_multiple", operator="lt", operator_value=2, **DAYS_30)
    ),
    "performed_event_first_time": AND(behavioral("purchase", "performed_event_first_time", **DAYS_30)),
    "performed_event_sequence": AND(
        behavioral(
            "login",
            "performed_event_sequence",
            seq_event="purchase",
            seq_event_type="events",
            seq_time_value=3,
            seq_time_interval="day",
            **DAYS_30,
        )
    ),
    "stopped_performing_event": AND(
        behavioral(
            "$pageview",
            "stopped_performing_event",
            time_value=60,
            time_interval="day",
            seq_time_value=3,
            seq_time_interval="day",
        )
    ),
    "restarted_performing_event": AND(
        behavioral(
            "login",
            "restarted_performing_event",
            time_value=30,
            time_interval="day",
            seq_time_value=2,
            seq_time_interval="day",
        )
    ),
    "performed_event_regularly": AND(
        behavioral(
            "$pageview",
            "performed_event_regularly",
            operator="gte",
            operator_value=1,
            time_value=1,
            time_interval="week",
            total_periods=4,
            min_periods=2,
        )
    ),
    "performed_event_regularly months": AND(
        behavioral(
            "purchase",
            "performed_event_regularly",
            operator="exact",
            operator_value=1,
            time_value=1,
            time_interval="month",
            total_periods=6,
            min_periods=1,
        )
    ),
    "nested dynamic cohort": AND(cohort(NESTED_DYNAMIC)),
    "nested static cohort": AND(cohort(NESTED_STATIC)),
    "missing cohort matches nobody": OR(cohort(99999), person("plan", "exact", "enterprise")),
    "negated person leaf in AND": AND(PAGEVIEW_30, person("plan", "exact", "pro", negation=True)),
    "negated behavioral": AND(person("is_paid", "exact", True), {**PAGEVIEW_30, "negation": True}),
    "negated cohort": AND(person("$browser", "is_set"), cohort(NESTED_STATIC, negation=True)),
    "OR of AND groups": OR(
        AND(person("plan", "exact", "pro"), PAGEVIEW_30),
        AND(person("age", "gt", 60)),
    ),
    "AND of OR groups": AND(
        OR(person("plan", "exact", "pro"), person("plan", "exact", "free")), OR(PAGEVIEW_30)
    ),
    "mixed OR inside AND (De Morgan)": AND(
        person("$browser", "is_set"),
        OR(person("plan", "exact", "pro"), person("is_paid", "exact", True, negation=True)),
    ),
    "all-negated OR inside AND": AND(
        PAGEVIEW_30, OR(person("plan", "exact", "pro", negation=True), cohort(NESTED_STATIC, negation=True))
    ),
    "all-negated AND inside AND": AND(
        cohort(NESTED_STATIC),
        AND(person("plan", "exact", "free", negation=True), {**PAGEVIEW_30, "negation": True}),
    ),
    "three conditions (benchmark shape)": AND(
        person("plan", "exact", "pro"),
        behavioral("$pageview", "performed_event_multiple", operator="gte", operator_value=2, **DAYS_30),
        cohort(NESTED_STATIC),
    ),
}


@pytest.fixture(scope="module", params=ENGINES)
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, World]]:
    world = generate()
    opened = open_test_store(request.param, tmp_path_factory.mktemp(request.param))
    try:
        load(opened, world)
        yield opened, world
    finally:
        opened.close()


@pytest.mark.parametrize("name", list(CASES))
def test_engine_agrees_with_reference(name: str, loaded: tuple[AnalyticsStore, World]) -> None:
    store, world = loaded
    filters = {"properties": CASES[name]}
    expected = Reference(world).members(filters)
    assert members(store, filters) == expected


def test_cases_are_not_trivial() -> None:
    """Each case selects some but not all persons, so agreement means something."""
    world = generate()
    universe = set(world.persons) | set(world.owner.values())
    sizes = {name: len(Reference(world).members({"properties": f})) for name, f in CASES.items()}
    trivial = {n: s for n, s in sizes.items() if s == 0 or s == len(universe)}
    assert not trivial, trivial
    assert len(CASES) >= 40
