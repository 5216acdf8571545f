"""The analytics store contract, run on every engine with the same expectations."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hedgerow.store.base import (
    AnalyticsStore,
    CompiledQuery,
    DistinctIdVersion,
    EventRow,
    PersonVersion,
    QueryTimeout,
)

T0 = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
P1 = "00000000-0000-4000-8000-000000000001"
P2 = "00000000-0000-4000-8000-000000000002"
P3 = "00000000-0000-4000-8000-000000000003"


def event(
    distinct_id: str = "d1",
    *,
    person_id: str = P1,
    name: str = "$pageview",
    properties: dict[str, object] | None = None,
    at: datetime = T0,
    uid: str | None = None,
    project_id: int = 1,
) -> EventRow:
    return EventRow(
        uuid=uid or str(uuid.uuid4()),
        project_id=project_id,
        event=name,
        distinct_id=distinct_id,
        person_id=person_id,
        properties=json.dumps(properties or {}),
        timestamp=at,
        created_at=at + timedelta(seconds=1),
    )


def person(
    pid: str, version: int, *, deleted: bool = False, project_id: int = 1, **props: object
) -> PersonVersion:
    return PersonVersion(
        project_id=project_id,
        id=pid,
        properties=json.dumps(props),
        is_identified=True,
        created_at=T0,
        version=version,
        is_deleted=deleted,
    )


def sql(store: AnalyticsStore, duckdb: str, clickhouse: str, **params: object) -> CompiledQuery:
    """The same question in each engine's dialect."""
    return CompiledQuery(duckdb if store.dialect == "duckdb" else clickhouse, params)


def count_events(store: AnalyticsStore, project_id: int = 1) -> int:
    rows = store.query(
        sql(
            store,
            "SELECT count(*) FROM events WHERE project_id = $p",
            "SELECT count() FROM events WHERE project_id = {p:Int64}",
            p=project_id,
        )
    )
    return int(rows[0][0])


def latest_persons(store: AnalyticsStore) -> dict[str, dict[str, object]]:
    rows = store.query(
        CompiledQuery("SELECT id, properties, version FROM persons_latest WHERE project_id = 1", {})
    )
    return {row[0]: {"version": row[2], **json.loads(row[1])} for row in rows}


def owners(store: AnalyticsStore) -> dict[str, str]:
    rows = store.query(
        CompiledQuery(
            "SELECT distinct_id, person_id FROM person_distinct_ids_latest WHERE project_id = 1", {}
        )
    )
    return dict((row[0], row[1]) for row in rows)


def static_members(store: AnalyticsStore, cohort_id: int) -> set[str]:
    rows = store.query(
        sql(
            store,
            "SELECT person_id FROM static_cohort_people_latest WHERE project_id = 1 AND cohort_id = $c",
            "SELECT person_id FROM static_cohort_people_latest"
            " WHERE project_id = 1 AND cohort_id = {c:Int64}",
            c=cohort_id,
        )
    )
    return {row[0] for row in rows}


def test_a_batch_of_ten_thousand_events_is_stored_whole(store: AnalyticsStore) -> None:
    rows = [event(f"user-{i % 97}", properties={"i": i}, at=T0 + timedelta(seconds=i)) for i in range(10_000)]
    store.append_events(rows)
    assert count_events(store) == 10_000
    first = store.query(
        sql(
            store,
            "SELECT uuid, distinct_id, person_id, properties, timestamp, created_at FROM events"
            " WHERE project_id = 1 ORDER BY timestamp LIMIT 1",
            "SELECT uuid, distinct_id, person_id, properties, timestamp, created_at FROM events"
            " WHERE project_id = 1 ORDER BY timestamp LIMIT 1",
        )
    )
    assert first == [(rows[0].uuid, "user-0", P1, '{"i": 0}', T0, T0 + timedelta(seconds=1))]
    assert first[0][4].utcoffset() == timedelta(0)


def test_duplicate_event_uuids_are_counted_once(store: AnalyticsStore) -> None:
    repeated = event(uid="018e0000-0000-7000-8000-0000000000aa")
    store.append_events([repeated, repeated, event()])
    store.append_events([repeated])  # an outbox replay of the same row
    # An SDK retry: same uuid, timestamp moved by the network delay, alongside new events.
    retried = event(uid=repeated.uuid, at=T0 + timedelta(seconds=5))
    store.append_events([event(at=T0 - timedelta(days=30)), retried])
    assert count_events(store) == 3
    # The same uuid in another project is another event.
    store.append_events([event(uid=repeated.uuid, project_id=2)])
    assert count_events(store, 2) == 1
    assert count_events(store) == 3


def test_latest_person_version_wins_whatever_the_arrival_order(store: AnalyticsStore) -> None:
    store.append_person_versions([person(P1, 1, email="old@x.com"), person(P1, 3, email="new@x.com")])
    store.append_person_versions([person(P1, 2, email="middle@x.com"), person(P2, 1, email="two@x.com")])
    assert latest_persons(store) == {
        P1: {"version": 3, "email": "new@x.com"},
        P2: {"version": 1, "email": "two@x.com"},
    }


def test_a_deleted_person_disappears_and_stale_versions_do_not_bring_it_back(store: AnalyticsStore) -> None:
    store.append_person_versions([person(P1, 1, email="a@x.com"), person(P2, 1, email="b@x.com")])
    store.append_person_versions([person(P1, 2, deleted=True)])
    store.append_person_versions([person(P1, 1, email="a@x.com")])
    assert set(latest_persons(store)) == {P2}
    # Deletion is a version like any other: a later version brings the person back.
    store.append_person_versions([person(P1, 3, email="back@x.com")])
    assert latest_persons(store)[P1] == {"version": 3, "email": "back@x.com"}


def test_a_distinct_id_moves_between_persons(store: AnalyticsStore) -> None:
    store.append_distinct_id_versions(
        [DistinctIdVersion(1, "anon-1", P1, 1), DistinctIdVersion(1, "user@x.com", P2, 1)]
    )
    store.append_events([event("anon-1", person_id=P1)])
    store.append_distinct_id_versions([DistinctIdVersion(1, "anon-1", P2, 2)])
    store.append_distinct_id_versions([DistinctIdVersion(1, "gone", P3, 1)])
    store.append_distinct_id_versions([DistinctIdVersion(1, "gone", P3, 2, is_deleted=True)])
    assert owners(store) == {"anon-1": P2, "user@x.com": P2}
    # Old events follow the distinct id to its current owner.
    now_owner = store.query(
        CompiledQuery(
            "SELECT pdi.person_id FROM events AS e JOIN person_distinct_ids_latest AS pdi"
            " ON pdi.project_id = e.project_id AND pdi.distinct_id = e.distinct_id WHERE e.project_id = 1",
            {},
        )
    )
    assert now_owner == [(P2,)]


def test_static_cohort_members_are_added_and_removed(store: AnalyticsStore) -> None:
    store.add_static_cohort_members(1, 7, [P1, P2, P3])
    store.add_static_cohort_members(1, 8, [P1])
    store.remove_static_cohort_members(1, 7, [P2])
    assert static_members(store, 7) == {P1, P3}
    store.add_static_cohort_members(1, 7, [P2])
    store.remove_static_cohort_members(1, 7, [P3])
    assert static_members(store, 7) == {P1, P2}
    assert static_members(store, 8) == {P1}


def members_with(store: AnalyticsStore, plan: str) -> CompiledQuery:
    return sql(
        store,
        "SELECT id FROM persons_latest WHERE project_id = 1"
        " AND json_extract_string(properties, '$.plan') = $plan",
        "SELECT id FROM persons_latest WHERE project_id = 1"
        " AND JSONExtractString(properties, 'plan') = {plan:String}",
        plan=plan,
    )


def test_replace_cohort_members_swaps_versions(store: AnalyticsStore) -> None:
    store.append_person_versions(
        [person(P1, 1, plan="pro"), person(P2, 1, plan="pro"), person(P3, 1, plan="free")]
    )
    assert store.replace_cohort_members(1, 5, 1, members_with(store, "pro")).count == 2
    assert store.cohort_member_ids(1, 5, 1) == [P1, P2]

    assert store.replace_cohort_members(1, 5, 2, members_with(store, "free")).count == 1
    assert store.cohort_member_ids(1, 5, 2) == [P3]
    assert store.count_cohort_members(1, 5, 2) == 1
    # The version the metadata store still calls current stays readable until the next swap.
    assert store.cohort_member_ids(1, 5, 1) == [P1, P2]

    # A retried calculation of the same version replaces, never adds.
    assert store.replace_cohort_members(1, 5, 3, members_with(store, "pro")).count == 2
    assert store.replace_cohort_members(1, 5, 3, members_with(store, "pro")).count == 2
    assert store.count_cohort_members(1, 5, 3) == 2
    assert store.count_cohort_members(1, 5, 1) == 0
    assert store.cohort_member_ids(1, 5, 2) == [P3]
    assert store.cohort_member_ids(1, 5, 3, limit=1, offset=1) == [P2]
    assert store.cohort_member_ids(1, 5, 3, limit=1) == [P1]
    assert store.count_cohort_members(1, 6, 3) == 0


def test_the_cohorts_a_person_is_in_by_version(store: AnalyticsStore) -> None:
    store.append_person_versions(
        [person(P1, 1, plan="pro"), person(P2, 1, plan="free"), person(P1, 1, project_id=2, plan="pro")]
    )
    assert store.replace_cohort_members(1, 5, 1, members_with(store, "pro")).count == 1
    assert store.replace_cohort_members(1, 5, 2, members_with(store, "pro")).count == 1
    assert store.replace_cohort_members(1, 7, 1, members_with(store, "free")).count == 1
    assert store.replace_cohort_members(1, 3, 4, members_with(store, "pro")).count == 1
    assert store.cohort_versions_with_member(1, P1) == [(3, 4), (5, 1), (5, 2)]
    assert store.cohort_versions_with_member(1, P2) == [(7, 1)]
    assert store.cohort_versions_with_member(2, P1) == []
    assert store.cohort_versions_with_member(1, P3) == []


def test_replace_cohort_members_reports_what_the_engine_read(store: AnalyticsStore) -> None:
    store.append_person_versions(
        [person(f"00000000-0000-4000-8000-{i:012d}", 1, plan="pro") for i in range(40)]
    )
    store.append_person_versions(
        [person(f"00000000-0000-4000-9000-{i:012d}", 1, plan="free") for i in range(10)]
    )
    written = store.replace_cohort_members(1, 5, 1, members_with(store, "pro"))
    assert written.count == 40
    # Every stored person version was scanned to find the 40 (engines may count a little more).
    assert written.read_rows is not None and written.read_rows >= 50


def _endless(store: AnalyticsStore) -> CompiledQuery:
    return sql(
        store,
        "SELECT p.id FROM persons_latest p CROSS JOIN range(100000000000) r WHERE hash(r.range, p.id) = 0",
        "SELECT p.id FROM persons_latest p CROSS JOIN numbers(100000000000) n"
        " WHERE sipHash64(n.number, p.id) = 0",
    )


def test_a_selection_past_its_time_limit_is_stopped_and_writes_nothing(store: AnalyticsStore) -> None:
    store.append_person_versions([person(P1, 1, plan="pro"), person(P2, 1, plan="free")])
    assert store.replace_cohort_members(1, 5, 1, members_with(store, "pro")).count == 1
    started = time.monotonic()
    with pytest.raises(QueryTimeout) as stopped:
        store.replace_cohort_members(1, 5, 2, _endless(store), timeout_seconds=0.3)
    assert time.monotonic() - started < 30 and stopped.value.seconds == 0.3
    assert store.count_cohort_members(1, 5, 2) == 0
    assert store.cohort_member_ids(1, 5, 1) == [P1]
    # The store is usable afterwards, with no limit left behind on the next selection.
    assert store.replace_cohort_members(1, 5, 2, members_with(store, "free")).count == 1


def test_member_pages_are_ordered_the_same_on_every_engine(store: AnalyticsStore) -> None:
    ids = sorted(str(uuid.UUID(int=(i * 0x9E3779B97F4A7C15) % (1 << 128))) for i in range(1, 200))
    store.append_person_versions([person(pid, 1, plan="pro") for pid in ids])
    assert store.replace_cohort_members(1, 9, 1, members_with(store, "pro")).count == len(ids)
    pages = [store.cohort_member_ids(1, 9, 1, limit=50, offset=offset) for offset in range(0, 200, 50)]
    assert [pid for page in pages for pid in page] == ids


def test_query_binds_dollar_keys_and_quotes(store: AnalyticsStore) -> None:
    tricky = 'O\'Brien "the" \\ browser\n'
    store.append_events(
        [
            event(properties={"$browser": tricky}),
            event(properties={"$browser": "Chrome"}),
            event(properties={"browser": tricky}),
        ]
    )
    rows = store.query(
        sql(
            store,
            "SELECT count(*) FROM events WHERE project_id = $project"
            " AND json_extract_string(properties, $path) = $value",
            "SELECT count() FROM events WHERE project_id = {project:Int64}"
            " AND JSONExtractString(properties, {key:String}) = {value:String}",
            project=1,
            value=tricky,
            **({"path": '$."$browser"'} if store.dialect == "duckdb" else {"key": "$browser"}),
        )
    )
    assert rows == [(1,)]
    echoed = store.query(
        sql(
            store,
            "SELECT $value, $when, $ids",
            "SELECT {value:String}, {when:DateTime64(6, 'UTC')}, {ids:Array(String)}",
            value=tricky,
            when=T0,
            ids=["a'b", "c"],
        )
    )
    assert echoed == [(tricky, T0, ["a'b", "c"])]


def test_concurrent_appends_all_land_in_fewer_transactions(store: AnalyticsStore) -> None:
    threads, calls_per_thread, rows_per_call = 8, 10, 200
    barrier = threading.Barrier(threads + 1)
    writing = threading.Event()
    errors: list[BaseException] = []
    seen: list[int] = []
    before = getattr(store, "write_transactions", None)

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for c in range(calls_per_thread):
                store.append_events([event(f"t{n}-c{c}-r{r}") for r in range(rows_per_call)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader() -> None:
        barrier.wait()
        while True:
            seen.append(count_events(store))
            if not writing.is_set():
                return

    pool = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    watcher = threading.Thread(target=reader)
    writing.set()
    for t in [*pool, watcher]:
        t.start()
    for t in pool:
        t.join()
    writing.clear()
    watcher.join()
    assert errors == []
    assert count_events(store) == threads * calls_per_thread * rows_per_call
    # A reader running alongside sees whole calls only, and never loses rows it saw.
    assert all(n % rows_per_call == 0 for n in seen)
    assert seen == sorted(seen)
    if before is not None:  # engines that group commits report how many transactions they ran
        transactions = store.write_transactions - before  # type: ignore[attr-defined]
        assert 0 < transactions < threads * calls_per_thread


def test_ids_come_back_as_text(store: AnalyticsStore) -> None:
    store.append_person_versions([person(P1, 1)])
    rows = store.query(CompiledQuery("SELECT id, [id], created_at FROM persons_latest", {}))
    assert rows == [(P1, [P1], T0)]


def test_members_newest_person_first(store: AnalyticsStore) -> None:
    """The persons list's order (PostHog's actors query): person `created_at` descending, then
    person id descending; members whose person row has not reached the store yet come last."""
    older, newer, tied = (
        person(P1, 1, plan="pro"),
        person(P2, 1, plan="pro"),
        person(P3, 1, plan="pro"),
    )
    store.append_person_versions(
        [
            replace(older, created_at=T0 - timedelta(days=1)),
            newer,
            replace(tied, version=2),
            person(P3, 1, project_id=2, plan="pro"),
        ]
    )
    store.replace_cohort_members(1, 5, 1, members_with(store, "pro"))
    missing = "00000000-0000-4000-8000-000000000000"
    store.replace_cohort_members(
        1,
        6,
        1,
        sql(
            store,
            "SELECT id FROM persons_latest WHERE project_id = 1 UNION ALL SELECT $m::UUID",
            "SELECT id FROM persons_latest WHERE project_id = 1 UNION ALL SELECT toUUID({m:String})",
            m=missing,
        ),
    )
    assert store.cohort_members_newest_first(1, 5, 1, limit=10, offset=0) == [P3, P2, P1]
    assert store.cohort_members_newest_first(1, 5, 1, limit=1, offset=1) == [P2]
    assert store.cohort_members_newest_first(1, 6, 1, limit=10, offset=0) == [P3, P2, P1, missing]
