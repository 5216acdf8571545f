"""The ingestion queue: capture only queues; the replicator applies persons in groups, in
arrival order, and a crash before a group commits replays it without duplicates."""

from __future__ import annotations

import gc
import json
import random
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hedgerow.db.session import make_engine, make_sessionmaker, transaction
from hedgerow.domain.ingestion import service
from hedgerow.domain.ingestion.events import CaptureContext, CapturedEvent, parse_capture
from hedgerow.domain.ingestion.models import (
    IngestionApplied,
    IngestionDeadLetter,
    IngestionOutbox,
    IngestionQueue,
)
from hedgerow.domain.ingestion.outbox import drain_once, pending_entries
from hedgerow.domain.ingestion.queue import decode_queued, list_dead_letters, queued_batches
from hedgerow.domain.ingestion.service import accept_capture, apply_queued
from hedgerow.domain.persons.identities import IdentityMemory, read_generation
from hedgerow.domain.persons.identity import person_uuid
from hedgerow.domain.persons.ingest import PersonProcessor
from hedgerow.domain.persons.models import Person, PersonDistinctId
from hedgerow.domain.projects import service as projects
from hedgerow.store.base import AnalyticsStore, CompiledQuery, EventColumns, PersonVersion
from hedgerow.store.factory import open_store

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
ANON_PERSON = person_uuid(1, "anon")


_TOKENS: dict[int, str] = {}


def dead_letters(factory: sessionmaker[Session]) -> list[tuple[int, str]]:
    """(queue id, error) of every batch set aside, oldest first."""
    with factory() as session:
        return [(d.queue_id, d.error) for d in list_dead_letters(session)]


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    made = make_sessionmaker(engine)
    with transaction(made) as session:
        _TOKENS[id(made)] = projects.initialise(session).project_api_token
    yield made
    engine.dispose()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AnalyticsStore]:
    opened = open_store(f"duckdb:///{tmp_path / 'events.duckdb'}")
    yield opened
    opened.close()


def _capture(factory: sessionmaker[Session], *events: dict[str, Any]) -> None:
    body = {"api_key": _TOKENS[id(factory)], "batch": list(events)}
    accept_capture(factory, parse_capture(body, CaptureContext(now=NOW)), now=NOW)


def _event(n: int, distinct_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "event": "$pageview",
        "distinct_id": distinct_id,
        "uuid": f"0190a6f4-0000-7000-8000-{n:012d}",
        "timestamp": f"2026-05-04T11:00:{n:02d}Z",
        **extra,
    }


def _three_batches(factory: sessionmaker[Session]) -> None:
    # An anonymous visitor, then $identify, then more activity: each $set must land in this order.
    _capture(factory, _event(1, "anon", **{"$set": {"plan": "free", "first": 1}}), _event(2, "anon"))
    _capture(
        factory,
        {
            **_event(3, "user"),
            "event": "$identify",
            "properties": {"$anon_distinct_id": "anon"},
            "$set": {"plan": "pro"},
        },
    )
    _capture(factory, _event(4, "anon", **{"$set": {"plan": "team"}}), _event(5, "user"))


def _persons(factory: sessionmaker[Session]) -> list[tuple[str, dict[str, Any], bool, list[str]]]:
    with factory() as session:
        rows = session.execute(
            select(Person.uuid, Person.properties, Person.is_identified, PersonDistinctId.distinct_id)
            .join(PersonDistinctId, PersonDistinctId.person_id == Person.id)
            .order_by(PersonDistinctId.distinct_id)
        ).all()
    found: dict[str, tuple[str, dict[str, Any], bool, list[str]]] = {}
    for uuid, properties, identified, distinct_id in rows:
        found.setdefault(uuid, (uuid, properties, identified, []))[3].append(distinct_id)
    return list(found.values())


def _stored(store: AnalyticsStore, sql: str) -> list[tuple[Any, ...]]:
    return [
        tuple(str(v) if k == 0 else v for k, v in enumerate(r)) for r in store.query(CompiledQuery(sql, {}))
    ]


def _assert_applied(factory: sessionmaker[Session], store: AnalyticsStore) -> None:
    [(uuid, properties, identified, ids)] = _persons(factory)
    assert (uuid, identified, ids) == (ANON_PERSON, True, ["anon", "user"])
    assert {k: properties[k] for k in ("plan", "first")} == {"plan": "team", "first": 1}
    events = _stored(store, "SELECT uuid, distinct_id, person_id FROM events ORDER BY uuid")
    assert [(e[0][-1], e[1], str(e[2])) for e in events] == [
        ("1", "anon", ANON_PERSON),
        ("2", "anon", ANON_PERSON),
        ("3", "user", ANON_PERSON),
        ("4", "anon", ANON_PERSON),
        ("5", "user", ANON_PERSON),
    ]
    latest = _stored(store, "SELECT id, version, is_identified, properties FROM persons_latest")
    assert [(p[0], p[2]) for p in latest] == [(ANON_PERSON, True)]
    assert '"plan":"team"' in latest[0][3]
    ids = _stored(store, "SELECT distinct_id, person_id FROM person_distinct_ids_latest ORDER BY distinct_id")
    assert [(d[0], str(d[1])) for d in ids] == [("anon", ANON_PERSON), ("user", ANON_PERSON)]


def test_capture_only_queues_and_one_group_applies_every_batch_in_order(
    factory: sessionmaker[Session], store: AnalyticsStore
) -> None:
    _three_batches(factory)
    assert queued_batches(factory) == 3
    assert _persons(factory) == []  # nothing about persons happens in the request
    assert apply_queued(factory, max_batches=100) == 3
    # One group, one project: one outbox entry carries all five events to the store.
    assert (queued_batches(factory), pending_entries(factory)) == (0, 1)
    assert drain_once(factory, store) == 1
    _assert_applied(factory, store)


def test_small_groups_give_the_same_result(factory: sessionmaker[Session], store: AnalyticsStore) -> None:
    _three_batches(factory)
    assert apply_queued(factory, max_batches=2) == 2
    assert queued_batches(factory) == 1
    assert apply_queued(factory, max_batches=2) == 1
    assert apply_queued(factory, max_batches=2) == 0
    assert drain_once(factory, store) == 2
    _assert_applied(factory, store)


class CrashingStore:
    """Passes writes through to `store` and then fails at the chosen one, as a crash would."""

    def __init__(self, store: AnalyticsStore, *, fail_events_after_writing: bool):
        self.store = store
        self.after = fail_events_after_writing

    def append_person_versions(self, rows: Sequence[PersonVersion]) -> None:
        self.store.append_person_versions(rows)

    def append_distinct_id_versions(self, rows: Sequence[Any]) -> None:
        self.store.append_distinct_id_versions(rows)

    def append_event_columns(self, columns: EventColumns) -> None:
        if self.after:
            self.store.append_event_columns(columns)
        raise OSError("simulated crash")


def test_a_failed_person_apply_leaves_every_batch_queued(
    factory: sessionmaker[Session], store: AnalyticsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _three_batches(factory)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise OSError("simulated crash")

    # Persons are written, then the process dies before the outbox row is.
    monkeypatch.setattr("hedgerow.domain.ingestion.service.write_outbox", crash)
    with pytest.raises(OSError):
        apply_queued(factory, max_batches=100)
    monkeypatch.undo()
    assert (queued_batches(factory), pending_entries(factory)) == (3, 0)
    assert _persons(factory) == []
    assert apply_queued(factory, max_batches=100) == 3
    assert drain_once(factory, store) == 1
    _assert_applied(factory, store)


@pytest.mark.parametrize("events_written", [False, True], ids=["before-events", "after-events"])
def test_a_crash_between_person_apply_and_store_append_replays_without_duplicates(
    factory: sessionmaker[Session], store: AnalyticsStore, events_written: bool
) -> None:
    _three_batches(factory)
    assert apply_queued(factory, max_batches=100) == 3
    crashing = CrashingStore(store, fail_events_after_writing=events_written)
    with pytest.raises(OSError):
        drain_once(factory, crashing)  # type: ignore[arg-type]
    # Persons were applied once; the outbox still holds what the store needs.
    assert (queued_batches(factory), pending_entries(factory)) == (0, 1)
    assert drain_once(factory, store) == 1
    _assert_applied(factory, store)
    # The replay wrote the same person version again, never a different one.
    versions = _stored(store, "SELECT DISTINCT id, version, properties FROM persons")
    assert len({(v[0], v[1]) for v in versions}) == len(versions)


def _queue_rows(factory: sessionmaker[Session]) -> tuple[int, int, list[bytes]]:
    """(queue rows, of which marked applied, outbox payloads), whatever their state."""
    with factory() as session:
        rows = session.scalar(select(func.count()).select_from(IngestionQueue)) or 0
        applied = session.scalar(select(func.count()).select_from(IngestionApplied)) or 0
        entries = list(session.scalars(select(IngestionOutbox.payload)))
    return rows, applied, entries


def test_an_applied_batch_stays_queued_until_its_entry_is_copied(
    factory: sessionmaker[Session], store: AnalyticsStore
) -> None:
    # The outbox entry refers to the queued batches instead of copying them under the write
    # lock; the batches leave the queue with the entry, once the store holds their events.
    _three_batches(factory)
    with factory() as session:
        payloads = list(session.scalars(select(IngestionQueue.payload)))
    assert apply_queued(factory, max_batches=100) == 3
    rows, applied, [entry] = _queue_rows(factory)
    assert (rows, applied, queued_batches(factory)) == (3, 3, 0)
    assert not any(payload in entry for payload in payloads)
    assert apply_queued(factory, max_batches=100) == 0  # marked: never applied twice
    assert drain_once(factory, store) == 1
    assert _queue_rows(factory) == (0, 0, [])
    _assert_applied(factory, store)


def test_an_entry_whose_batch_is_gone_is_never_copied_in_part(
    factory: sessionmaker[Session], store: AnalyticsStore
) -> None:
    _three_batches(factory)
    assert apply_queued(factory, max_batches=100) == 3
    with transaction(factory) as session:  # only by hand: nothing deletes a batch before its entry
        first = session.scalar(select(func.min(IngestionQueue.id)))
        session.execute(delete(IngestionApplied).where(IngestionApplied.queue_id == first))
        session.execute(delete(IngestionQueue).where(IngestionQueue.id == first))
    with pytest.raises(LookupError, match="gone"):
        drain_once(factory, store)
    rows, applied, entries = _queue_rows(factory)
    assert (rows, applied, len(entries)) == (2, 2, 1)  # the rest left as it was, for an operator
    assert _stored(store, "SELECT count(*) FROM events") == [("0",)]


def test_a_batch_that_cannot_be_applied_is_set_aside_and_the_rest_flow(
    factory: sessionmaker[Session], store: AnalyticsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    process = PersonProcessor.process

    def refuse_poison(self: PersonProcessor, event: CapturedEvent) -> str:
        if event.distinct_id == "poison":
            raise ValueError("cannot apply this event")
        return process(self, event)

    monkeypatch.setattr(PersonProcessor, "process", refuse_poison)
    _capture(factory, _event(1, "anon", **{"$set": {"plan": "free"}}))
    _capture(factory, _event(2, "poison"), _event(3, "anon"))
    _capture(factory, _event(4, "anon", **{"$set": {"plan": "team"}}))
    with factory() as session:
        [poison_id] = session.scalars(select(IngestionQueue.id).where(IngestionQueue.event_count == 2))
    assert apply_queued(factory, max_batches=100) == 3
    assert queued_batches(factory) == 0
    [(queue_id, error)] = dead_letters(factory)
    assert queue_id == poison_id and "cannot apply this event" in error
    assert drain_once(factory, store) == 2
    [(uuid, properties, _, ids)] = _persons(factory)
    assert (uuid, properties["plan"], ids) == (ANON_PERSON, "team", ["anon"])
    events = _stored(store, "SELECT uuid FROM events ORDER BY uuid")
    assert [e[0][-1] for e in events] == ["1", "4"]
    # The batch set aside is kept whole, with every event it carried.
    with factory() as session:
        payload = session.scalars(select(IngestionDeadLetter.payload)).one()
    assert [e.uuid[-1] for e in decode_queued(poison_id, 1, payload).events] == ["2", "3"]


def test_integers_beyond_64_bits_are_applied_exactly(
    factory: sessionmaker[Session], store: AnalyticsStore
) -> None:
    # The standard-library JSON path of capture decoding can hand such integers over.
    big = 123456789012345678901234567890
    _capture(factory, _event(1, "anon", **{"$set": {"big": big}, "properties": {"n": big}}))
    assert apply_queued(factory, max_batches=100) == 1
    assert dead_letters(factory) == []
    assert drain_once(factory, store) == 1
    [(_, properties, _, _)] = _persons(factory)
    assert properties["big"] == big
    [(person_json,)] = store.query(CompiledQuery("SELECT properties FROM persons_latest", {}))
    [(event_json,)] = store.query(CompiledQuery("SELECT properties FROM events", {}))
    assert f'"big":{big}' in person_json and f'"n":{big}' in event_json


@pytest.mark.parametrize(
    ("extra", "codec"),
    [
        ({}, b"d"),
        # A lone surrogate (the standard library's JSON reads one) or an integer beyond 64 bits
        # sends the batch down the standard library's path.
        ({"s": "\ud800"}, b"D"),
        ({"big": 123456789012345678901234567890}, b"D"),
    ],
)
def test_any_text_capture_accepts_is_stored_as_sent(extra: dict[str, Any], codec: bytes) -> None:
    from hedgerow.domain.ingestion.batch_format import decode_batch, encode_batch

    odd = {"q": 'say "hi"\\n', "u": "Zürich ☃", **extra}
    events = [CapturedEvent(str(UUID(int=1)), "e", "d", {"$set": odd, **odd}, NOW)]
    batch, payload = decode_batch(encode_batch(events, NOW))
    assert payload[:1] == codec
    assert json.loads(batch.properties[0]) == {"$set": odd, **odd}
    assert batch.inputs[0] == {"$set": odd}
    assert batch.person_events()[0].timestamp == NOW


def _split_misses(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Records, per lookup, the distinct ids the identity memory could not answer."""
    misses: list[list[str]] = []
    split = IdentityMemory.split

    def recording(self: IdentityMemory, *args: Any) -> Any:
        hits, missing = split(self, *args)
        misses.append(sorted(missing))
        return hits, missing

    monkeypatch.setattr(IdentityMemory, "split", recording)
    return misses


def test_the_next_group_reads_only_distinct_ids_it_has_not_seen(
    factory: sessionmaker[Session], store: AnalyticsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    misses = _split_misses(monkeypatch)
    _capture(factory, _event(1, "anon", **{"$set": {"plan": "free"}}), _event(2, "other"))
    assert apply_queued(factory, max_batches=100) == 1
    _capture(factory, _event(3, "anon", **{"$set": {"plan": "pro"}}), _event(4, "new"))
    assert apply_queued(factory, max_batches=100) == 1
    # Remembered from two groups back, across a group that wrote persons.
    _capture(factory, _event(5, "other", **{"$set": {"plan": "team"}}))
    assert apply_queued(factory, max_batches=100) == 1
    assert misses == [["anon", "other"], ["new"], []]
    assert drain_once(factory, store) == 3
    plans = {ids[0]: properties.get("plan") for _, properties, _, ids in _persons(factory)}
    assert plans == {"anon": "pro", "other": "team", "new": None}


def test_a_change_made_elsewhere_is_never_hidden_by_what_the_applier_remembers(
    factory: sessionmaker[Session], store: AnalyticsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _capture(factory, _event(1, "anon", **{"$set": {"plan": "free"}}), _event(2, "other"))
    assert apply_queued(factory, max_batches=100) == 1
    # Another writer moves "anon" to the other person after the next group has read it from
    # memory and before it writes: the write re-checks, starts over and sees the move.
    _capture(factory, _event(3, "anon", **{"$set": {"plan": "team"}}))
    real_take = service.take_batches
    moved: list[bool] = []

    def take_after_outside_write(session: Session, queue_ids: list[int]) -> None:
        if not moved:
            moved.append(True)
            with transaction(factory) as other:
                other.execute(
                    update(PersonDistinctId)
                    .where(PersonDistinctId.distinct_id == "anon")
                    .values(
                        person_id=select(PersonDistinctId.person_id)
                        .where(PersonDistinctId.distinct_id == "other")
                        .scalar_subquery(),
                        version=PersonDistinctId.version + 1,
                    )
                )
        real_take(session, queue_ids)

    monkeypatch.setattr(service, "take_batches", take_after_outside_write)
    assert apply_queued(factory, max_batches=100) == 1
    [(uuid, properties, _, ids)] = _persons(factory)
    assert (uuid, ids, properties["plan"]) == (person_uuid(1, "other"), ["anon", "other"], "team")
    assert drain_once(factory, store) == 2
    [(person_id,)] = _stored(store, "SELECT person_id FROM events WHERE uuid::VARCHAR LIKE '%3'")
    assert str(person_id) == person_uuid(1, "other")


def test_triggers_count_every_change_to_persons_whoever_makes_it(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        before = read_generation(session)
    _capture(factory, _event(1, "anon"))
    assert apply_queued(factory, max_batches=100) == 1
    with factory() as session:
        applied = read_generation(session)
    with transaction(factory) as session:
        session.execute(update(Person).values(version=Person.version + 1))
    with factory() as session:
        edited = read_generation(session)
    assert before.instance == applied.instance == edited.instance
    assert before.value < applied.value < edited.value


def test_batches_and_outbox_entries_of_the_earlier_row_format_still_apply(
    factory: sessionmaker[Session], store: AnalyticsStore
) -> None:
    # What earlier versions wrote: a queued batch and an outbox entry, one JSON row per event.
    queued = b"o" + orjson.dumps(
        {
            "n": NOW,
            "e": [
                ["0190a6f4-0000-7000-8000-000000000001", "$pageview", "anon", {"$set": {"plan": "pro"}}, NOW]
            ],
        }
    )
    entry = orjson.dumps(
        {
            "e": [["0190a6f4-0000-7000-8000-000000000002", "old", "x", ANON_PERSON, '{"k":1}', NOW, NOW]],
            "p": [],
            "d": [],
        }
    )
    # And the columnar format before the properties texts were set apart: one JSON object.
    columnar = b"c" + orjson.dumps(
        {
            "n": 1_777_896_000_000_000,
            "u": ["0190a6f4-0000-7000-8000-000000000003"],
            "e": ["$pageview"],
            "d": ["anon"],
            "t": [1_777_896_000_000_000],
            "p": ['{"c":3}'],
            "i": [{"$set": {"seats": 2}}],
        }
    )
    # And the framed entry that carried its batches' payloads (before entries referred to them).
    columns = orjson.dumps(
        {
            "n": 1_777_896_000_000_000,
            "u": ["0190a6f4-0000-7000-8000-000000000004"],
            "e": ["kept"],
            "d": ["anon"],
            "t": [1_777_896_000_000_000],
            "i": [{}],
        }
    )
    carried = b"d" + len(columns).to_bytes(4, "big") + columns + orjson.dumps(['{"f":4}'])
    head = orjson.dumps({"b": [[len(carried), [ANON_PERSON]]], "p": [], "d": []})
    framed = b"2" + len(head).to_bytes(4, "big") + head + carried
    with transaction(factory) as session:
        session.add(IngestionQueue(project_id=1, event_count=1, payload=queued, created_at=NOW))
        session.add(IngestionOutbox(project_id=1, event_count=1, payload=entry))
        session.add(IngestionOutbox(project_id=1, event_count=1, payload=framed))
        session.add(IngestionQueue(project_id=1, event_count=1, payload=columnar, created_at=NOW))
    assert apply_queued(factory, max_batches=100) == 2
    assert drain_once(factory, store) == 3
    [(_, properties, _, ids)] = _persons(factory)
    assert (properties["plan"], properties["seats"], ids) == ("pro", 2, ["anon"])
    stored = _stored(store, "SELECT uuid, event, person_id, properties FROM events ORDER BY uuid")
    assert [(e[0][-1], e[1], str(e[2])) for e in stored] == [
        ("1", "$pageview", ANON_PERSON),
        ("2", "old", ANON_PERSON),
        ("3", "$pageview", ANON_PERSON),
        ("4", "kept", ANON_PERSON),
    ]
    assert stored[1][3] == '{"k":1}'
    assert stored[2][3] == '{"c":3}'
    assert stored[3][3] == '{"f":4}'


def test_a_group_leaves_no_person_objects_for_the_cycle_collector(factory: sessionmaker[Session]) -> None:
    # Persons and their distinct ids refer to each other. What a group worked on lives on in the
    # identity memory, for the next group (the same objects, not copies); nothing of it is left
    # over for the cycle collector.
    from hedgerow.db.session import engine_of
    from hedgerow.domain.persons.identities import identity_memory
    from hedgerow.domain.persons.live import LiveDistinctId, LivePerson

    def garbage() -> list[object]:
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            gc.collect()
            return [o for o in gc.garbage if isinstance(o, LivePerson | LiveDistinctId)]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()

    _three_batches(factory)
    while gc.collect():  # what earlier tests left (their memories go with their engines)
        pass
    memory = identity_memory(engine_of(factory))
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        assert apply_queued(factory, max_batches=10) == 3
        assert garbage() == []
        remembered = memory.distinct_id(1, "user")
        assert remembered is not None and memory.distinct_id(1, "anon") is not None
        assert memory.distinct_id(1, "anon").person is remembered.person  # type: ignore[union-attr]
        _capture(factory, _event(9, "user", **{"$set": {"plan": "pro"}}))
        assert apply_queued(factory, max_batches=10) == 1
        assert garbage() == []
        assert memory.distinct_id(1, "user") is remembered
        assert remembered.person.properties["plan"] == "pro"
    finally:
        if was_enabled:
            gc.enable()


def test_a_person_read_through_a_new_distinct_id_is_the_one_already_remembered(
    factory: sessionmaker[Session], store: AnalyticsStore
) -> None:
    from hedgerow.db.session import engine_of
    from hedgerow.domain.persons.identities import identity_memory

    _capture(factory, _event(1, "user", event="$identify", properties={"$anon_distinct_id": "anon"}))
    assert apply_queued(factory, max_batches=100) == 1
    memory = identity_memory(engine_of(factory))
    memory.forget()  # as after a restart: "user" is read again, "anon" is not seen yet
    _capture(factory, _event(2, "user", **{"$set": {"plan": "free"}}))
    assert apply_queued(factory, max_batches=100) == 1
    _capture(factory, _event(3, "anon", **{"$set": {"plan": "pro"}}))
    assert apply_queued(factory, max_batches=100) == 1
    user, anon = memory.distinct_id(1, "user"), memory.distinct_id(1, "anon")
    assert user is not None and anon is not None and user.person is anon.person
    _capture(factory, _event(4, "user", **{"$set": {"seats": 2}}))
    assert apply_queued(factory, max_batches=100) == 1
    assert dead_letters(factory) == []
    [(_, properties, _, ids)] = _persons(factory)
    assert sorted(ids) == ["anon", "user"] and (properties["plan"], properties["seats"]) == ("pro", 2)


def test_a_noisy_change_is_not_written_alone_but_is_kept_for_the_next_real_change(
    factory: sessionmaker[Session],
) -> None:
    # Spec 2.4: noisy keys alone do not force a write, "only a write optimisation; the logical
    # result is the same". The remembered person keeps the change until something is written.
    _capture(factory, _event(1, "anon", properties={"$current_url": "https://a.test/1"}))
    assert apply_queued(factory, max_batches=100) == 1
    _capture(factory, _event(2, "anon", properties={"$current_url": "https://a.test/2"}))
    assert apply_queued(factory, max_batches=100) == 1
    [(_, properties, _, _)] = _persons(factory)
    assert properties["$current_url"] == "https://a.test/1"  # not written for that alone
    _capture(factory, _event(3, "anon", **{"$set": {"plan": "pro"}}))
    assert apply_queued(factory, max_batches=100) == 1
    [(_, properties, _, _)] = _persons(factory)
    assert properties["plan"] == "pro"
    assert properties["$current_url"] == "https://a.test/2"
    assert properties["$initial_current_url"] == "https://a.test/1"


def test_a_group_that_fails_after_changing_remembered_persons_starts_over_from_the_store(
    factory: sessionmaker[Session], store: AnalyticsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The group works on the remembered objects in place (its write even moves their versions
    # on) before the outbox write fails: the retry must see the persons as stored.
    _capture(factory, _event(1, "anon", **{"$set": {"plan": "free", "seats": 1}}))
    assert apply_queued(factory, max_batches=100) == 1
    _capture(factory, _event(2, "anon", **{"$set": {"plan": "pro"}, "properties": {"$unset": ["seats"]}}))
    real = service.write_outbox
    failures: list[bool] = []

    def fail_once(*args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append(True)
            raise OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "write_outbox", fail_once)
    assert apply_queued(factory, max_batches=100) == 1
    assert failures == [True] and dead_letters(factory) == []
    [(_, properties, _, _)] = _persons(factory)
    assert properties["plan"] == "pro" and "seats" not in properties
    assert drain_once(factory, store) == 2


def test_capture_writes_its_row_itself_only_when_that_cannot_wait(factory: sessionmaker[Session]) -> None:
    from hedgerow.db.session import engine_of
    from hedgerow.db.write_turns import WRITE_TURN
    from hedgerow.domain.ingestion.queue import queue_row

    engine = engine_of(factory)
    writer = service._queue_writer(factory)
    body = {"api_key": _TOKENS[id(factory)], "batch": [_event(1, "a")]}
    row = queue_row(1, parse_capture(body, CaptureContext(now=NOW)).events, NOW)
    if engine.dialect.name != "sqlite":
        # A server round trip on the event loop would stall every request: always the thread.
        assert writer.write_now(row) is False
        assert queued_batches(factory) == 0
        return
    assert writer.write_now(row) is True
    assert queued_batches(factory) == 1

    # The write turn is someone else's (here another thread's): nothing is written, no waiting.
    held, release = threading.Event(), threading.Event()

    def hold_turn() -> None:
        with WRITE_TURN(factory):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold_turn)
    holder.start()
    held.wait(5)
    try:
        assert writer.write_now(row) is False
    finally:
        release.set()
        holder.join()
    assert queued_batches(factory) == 1

    # A writer that takes no turns (an import, an API edit) holds SQLite's lock: fail at once
    # instead of waiting in SQLite's busy handler, and leave the pooled connection as it was.
    database = engine.url.database
    assert database is not None
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        assert writer.write_now(row) is False
        assert time.monotonic() - started < 1
    finally:
        other.execute("ROLLBACK")
        other.close()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    assert writer.write_now(row) is True
    assert queued_batches(factory) == 2


def test_a_person_changed_through_one_distinct_id_is_current_through_its_others(
    factory: sessionmaker[Session], store: AnalyticsStore
) -> None:
    # Both ids remembered; then a change through "anon" only; then a change through "user".
    _capture(factory, _event(1, "user"), _event(2, "anon"))
    _capture(factory, _event(3, "user", event="$identify", properties={"$anon_distinct_id": "anon"}))
    assert apply_queued(factory, max_batches=100) == 2
    _capture(factory, _event(4, "anon", **{"$set": {"plan": "pro"}}))
    assert apply_queued(factory, max_batches=100) == 1
    _capture(factory, _event(5, "user", **{"$set": {"seats": 3}}))
    assert apply_queued(factory, max_batches=100) == 1
    assert dead_letters(factory) == []
    assert drain_once(factory, store) == 3
    [(_, properties, _, ids)] = _persons(factory)
    assert sorted(ids) == ["anon", "user"]
    assert properties["plan"] == "pro" and properties["seats"] == 3


def _random_traffic(rng: random.Random, count: int) -> list[list[dict[str, Any]]]:
    """Batches of mixed traffic over a few distinct ids: page views (noisy keys), `$set`,
    `$set_once`, `$unset`, identifies and aliases that merge persons, personless events."""
    ids = [f"id-{i}" for i in range(12)]
    events: list[dict[str, Any]] = []
    for n in range(count):
        distinct_id = rng.choice(ids)
        kind = rng.random()
        extra: dict[str, Any] = {"properties": {"$current_url": f"https://x.test/{rng.randrange(5)}"}}
        if kind < 0.25:
            extra["$set"] = {rng.choice("abc"): rng.randrange(4)}
        elif kind < 0.35:
            extra["$set_once"] = {rng.choice("abc"): rng.randrange(4)}
        elif kind < 0.42:
            extra["properties"]["$unset"] = [rng.choice("abc")]
        elif kind < 0.55:
            extra["event"] = "$identify"
            extra["properties"]["$anon_distinct_id"] = rng.choice(ids)
        elif kind < 0.62:
            extra["event"] = "$create_alias"
            extra["properties"]["alias"] = rng.choice(ids)
        elif kind < 0.66:
            extra["properties"]["$process_person_profile"] = False
        events.append(_event(n % 60, distinct_id, **extra) | {"uuid": str(UUID(int=n + 1))})
    batches: list[list[dict[str, Any]]] = []
    while events:
        size = rng.randrange(1, 6)
        batches.append(events[:size])
        del events[:size]
    return batches


def _apply_in_random_groups(factory: sessionmaker[Session], rng: random.Random) -> None:
    while apply_queued(factory, max_batches=rng.randrange(1, 5)):
        pass


def _merged_state(factory: sessionmaker[Session]) -> list[tuple[list[str], dict[str, Any], bool]]:
    return sorted((ids, properties, identified) for _, properties, identified, ids in _persons(factory))


def test_what_the_applier_remembers_never_changes_the_outcome(
    factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same traffic, applied in the same random groups, once reading every distinct id from
    # the store each group and once through the identity memory: the persons must agree.
    reference_engine = make_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    from hedgerow.db.migrate import upgrade

    upgrade(str(reference_engine.url))
    reference = make_sessionmaker(reference_engine)
    with transaction(reference) as session:
        _TOKENS[id(reference)] = projects.initialise(session).project_api_token
    try:
        for seed in range(3):
            traffic = _random_traffic(random.Random(seed), 150)
            with monkeypatch.context() as patched:
                patched.setattr(IdentityMemory, "split", lambda self, g, p, ids: ([], list(ids)))
                for batch in traffic:
                    _capture(reference, *batch)
                _apply_in_random_groups(reference, random.Random(seed))
            for batch in traffic:
                _capture(factory, *batch)
            _apply_in_random_groups(factory, random.Random(seed))
            assert dead_letters(factory) == dead_letters(reference) == []
            assert _merged_state(factory) == _merged_state(reference)
    finally:
        reference_engine.dispose()
