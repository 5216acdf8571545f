"""`select_person_ids`: a cohort's person set read without being stored (static cohort population)."""

from __future__ import annotations

import time

import pytest

from hedgerow.store.base import AnalyticsStore, QueryTimeout
from tests.stores.test_store_behaviour import P1, P2, P3, _endless, members_with, person


def test_selected_person_ids_are_distinct_text_and_nothing_is_written(store: AnalyticsStore) -> None:
    store.append_person_versions(
        [person(P1, 1, plan="pro"), person(P2, 1, plan="pro"), person(P3, 1, plan="free")]
    )
    store.append_person_versions([person(P1, 2, plan="pro")])
    assert sorted(store.select_person_ids(members_with(store, "pro"))) == [P1, P2]
    assert store.select_person_ids(members_with(store, "nobody")) == []
    assert store.count_cohort_members(1, 5, 1) == 0


def test_a_selection_past_its_time_limit_is_stopped(store: AnalyticsStore) -> None:
    store.append_person_versions([person(P1, 1, plan="pro")])
    started = time.monotonic()
    with pytest.raises(QueryTimeout) as stopped:
        store.select_person_ids(_endless(store), timeout_seconds=0.3)
    assert time.monotonic() - started < 30 and stopped.value.seconds == 0.3
    # No limit is left behind on the next selection.
    assert store.select_person_ids(members_with(store, "pro"), timeout_seconds=5) == [P1]
