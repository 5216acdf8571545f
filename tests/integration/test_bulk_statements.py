"""Rows written through `db.bulk.BulkStatement` are stored exactly as SQLAlchemy Core stores
them (dates, booleans, bytes, JSON), on whichever metadata store the suite runs against."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, Table, bindparam, insert, select, update

from hedgerow.db.bulk import BulkStatement
from hedgerow.db.session import make_engine, make_sessionmaker, transaction
from hedgerow.domain.ingestion.models import IngestionQueue
from hedgerow.domain.persons.json_text import dumps_text
from hedgerow.domain.persons.models import Person
from hedgerow.domain.projects import service as projects

PERSONS: Table = Person.__table__  # type: ignore[assignment]
QUEUE: Table = IngestionQueue.__table__  # type: ignore[assignment]
KEYS = ("uuid", "project_id", "properties", "is_identified", "created_at", "version")
PROPERTIES = {"plan": "pro", "n": 3, "nested": {"ok": True}, "text": "naïve ☃", "big": 2**70}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def project_id(engine: Engine) -> int:
    with transaction(make_sessionmaker(engine)) as session:
        return projects.initialise(session).project_id


def _person_rows(engine: Engine, uuids: list[str]) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(PERSONS.c.uuid, PERSONS.c.properties, PERSONS.c.is_identified, PERSONS.c.created_at)
            .where(PERSONS.c.uuid.in_(uuids))
            .order_by(PERSONS.c.uuid)
        )
        return [tuple(row) for row in rows]


def test_inserts_and_updates_store_what_core_stores(engine: Engine, project_id: int) -> None:
    # Aware datetimes in another zone, a microsecond of zero, booleans, JSON given as text.
    created = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=2)))
    bulk = BulkStatement(insert(PERSONS), KEYS, serialized=("properties",))
    with engine.begin() as connection:
        connection.execute(
            insert(PERSONS),
            [dict(zip(KEYS, ("core", project_id, PROPERTIES, True, created, 0), strict=True))],
        )
        written = bulk.executemany(
            connection, [("bulk", project_id, dumps_text(PROPERTIES), True, created, 0)]
        )
    assert written == 1
    (_, core_props, core_identified, core_created), (_, props, identified, at) = sorted(
        _person_rows(engine, ["core", "bulk"]), key=lambda row: row[0] != "core"
    )
    assert (props, identified, at) == (core_props, core_identified, core_created)
    assert props == PROPERTIES and identified is True and at == created.astimezone(UTC)

    # A guarded update: the count of rows matched is what the caller checks.
    guarded = BulkStatement(
        update(PERSONS)
        .where(PERSONS.c.uuid == bindparam("b_uuid"), PERSONS.c.version == bindparam("b_read"))
        .values(
            properties=bindparam("b_properties", type_=PERSONS.c.properties.type),
            created_at=bindparam("b_created", type_=PERSONS.c.created_at.type),
            version=bindparam("b_version", type_=PERSONS.c.version.type),
        ),
        ("b_properties", "b_created", "b_version", "b_uuid", "b_read"),
        serialized=("b_properties",),
    )
    later = created + timedelta(days=1, microseconds=5)
    with engine.begin() as connection:
        matched = guarded.executemany(
            connection,
            [
                (dumps_text({"plan": "team"}), later, 1, "bulk", 0),
                (dumps_text({"plan": "lost"}), later, 1, "core", 7),  # not at version 7: no match
            ],
        )
    assert matched == 1
    rows = dict((row[0], row[1:]) for row in _person_rows(engine, ["core", "bulk"]))
    assert rows["bulk"] == ({"plan": "team"}, True, later.astimezone(UTC))
    assert rows["core"][0] == PROPERTIES


def test_bytes_and_dates_of_queue_rows(engine: Engine, project_id: int) -> None:
    now = datetime.now(UTC)
    bulk = BulkStatement(insert(QUEUE), ("project_id", "event_count", "payload", "created_at"))
    with engine.begin() as connection:
        bulk.executemany(connection, [(project_id, 2, b"\x00\xffpayload", now), (project_id, 1, b"x", now)])
        assert bulk.executemany(connection, []) == 0
    with engine.connect() as connection:
        rows = connection.execute(
            select(QUEUE.c.event_count, QUEUE.c.payload, QUEUE.c.created_at).order_by(QUEUE.c.id)
        ).all()
    assert [tuple(r) for r in rows] == [(2, b"\x00\xffpayload", now), (1, b"x", now)]


def test_keys_must_name_the_statement_s_parameters(engine: Engine, project_id: int) -> None:
    # Every parameter comes from the rows: a column SQLAlchemy would fill from a Python-side
    # default (the queue's created_at) must be given, or nothing is written.
    missing_default = BulkStatement(insert(QUEUE), ("project_id", "event_count", "payload"))
    wrong = BulkStatement(
        update(QUEUE).where(QUEUE.c.id == bindparam("b_id")).values(event_count=bindparam("b_n")), ("b_id",)
    )
    for statement, row in ((missing_default, (project_id, 1, b"x")), (wrong, (1,))):
        with engine.begin() as connection, pytest.raises(ValueError, match="not the keys"):
            statement.executemany(connection, [row])
    with engine.connect() as connection:
        assert connection.execute(select(QUEUE.c.id)).all() == []
