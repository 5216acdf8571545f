"""Deleting deleted persons' events (`delete_person_events`), on every engine."""

from __future__ import annotations

from datetime import timedelta

from hedgerow.store.base import AnalyticsStore
from tests.stores.test_store_behaviour import P1, P2, P3, T0, event, sql

RECEIVED = T0 + timedelta(seconds=1)  # `event()` stamps created_at a second after the timestamp


def _events(store: AnalyticsStore) -> list[tuple[int, str, str]]:
    rows = store.query(
        sql(
            store,
            "SELECT project_id, person_id::VARCHAR AS person, distinct_id FROM events"
            " ORDER BY project_id, person, distinct_id",
            "SELECT project_id, toString(person_id) AS person, distinct_id FROM events"
            " ORDER BY project_id, person, distinct_id",
        )
    )
    return [(int(project), str(person), str(distinct_id)) for project, person, distinct_id in rows]


def test_deletes_only_that_persons_events_in_that_project(store: AnalyticsStore) -> None:
    store.append_events(
        [
            event("a1", person_id=P1),
            event("a2", person_id=P1, at=T0 + timedelta(days=40)),  # another partition
            event("b", person_id=P2),
            event("a-elsewhere", person_id=P1, project_id=2),
        ]
    )
    store.delete_person_events(1, [P1], received_before=RECEIVED + timedelta(days=41))
    assert _events(store) == [(1, P2, "b"), (2, P1, "a-elsewhere")]


def test_several_persons_at_once_and_repeating_is_harmless(store: AnalyticsStore) -> None:
    store.append_events([event("a", person_id=P1), event("b", person_id=P2), event("c", person_id=P3)])
    for _ in range(2):
        store.delete_person_events(1, [P1, P3], received_before=RECEIVED + timedelta(seconds=1))
    assert _events(store) == [(1, P2, "b")]
    store.delete_person_events(1, [], received_before=RECEIVED + timedelta(seconds=1))
    assert _events(store) == [(1, P2, "b")]


def test_events_received_from_the_cutoff_on_stay(store: AnalyticsStore) -> None:
    store.append_events(
        [event("before", person_id=P1), event("after", person_id=P1, at=T0 + timedelta(hours=1))]
    )
    store.delete_person_events(1, [P1], received_before=RECEIVED + timedelta(minutes=30))
    assert _events(store) == [(1, P1, "after")]
    store.delete_person_events(1, [P1], received_before=RECEIVED + timedelta(hours=1))
    assert _events(store) == [(1, P1, "after")]  # received exactly at the cutoff: not before it


def test_a_deleted_event_sent_again_later_is_stored_again(store: AnalyticsStore) -> None:
    first = event("a", person_id=P1)
    store.append_events([first])
    store.delete_person_events(1, [P1], received_before=RECEIVED + timedelta(seconds=1))
    store.append_events([first])
    assert _events(store) == [(1, P1, "a")]
