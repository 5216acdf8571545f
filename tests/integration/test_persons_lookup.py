"""The person lookups other packages use, over a real metadata store."""

from __future__ import annotations

from datetime import UTC, datetime

from hedgerow.db.session import transaction
from hedgerow.domain.persons import service
from hedgerow.domain.persons.models import Person, PersonDistinctId
from tests.support import HedgerowClient


def _add_person(hedgerow: HedgerowClient, uuid: str, properties: dict[str, object], ids: list[str]) -> None:
    with transaction(hedgerow.app.state.sessionmaker) as session:
        person = Person(
            uuid=uuid,
            project_id=hedgerow.project_id,
            properties=properties,
            is_identified=False,
            created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            version=0,
        )
        session.add(person)
        session.flush()
        for distinct_id in ids:
            session.add(
                PersonDistinctId(project_id=hedgerow.project_id, distinct_id=distinct_id, person_id=person.id)
            )


def test_lookups_by_uuid_distinct_id_and_email(hedgerow: HedgerowClient) -> None:
    a = "0190a6f4-0000-7000-8000-00000000000a"
    b = "0190a6f4-0000-7000-8000-00000000000b"
    _add_person(
        hedgerow,
        a,
        {"email": "ann@example.com", "plan": "pro"},
        ["ann", "3f1c6c4e-1111-4222-8333-444455556666"],
    )
    _add_person(hedgerow, b, {"email": "bob@example.com"}, ["bob"])
    other = hedgerow.create_project()
    with transaction(hedgerow.app.state.sessionmaker) as session:
        found = service.get_persons_by_uuids(session, project_id=hedgerow.project_id, uuids=[b, a, "nope"])
        assert [p.id for p in found] == [b, a]
        first = found[1].model_dump(mode="json")
        assert first == {
            "type": "person",
            "id": a,
            "uuid": a,
            "name": "ann@example.com",
            "distinct_ids": ["ann", "3f1c6c4e-1111-4222-8333-444455556666"],
            "properties": {"email": "ann@example.com", "plan": "pro"},
            "created_at": "2026-01-02T03:04:05Z",
            "last_seen_at": None,
            "is_identified": False,
            "matched_recordings": [],
            "value_at_data_point": None,
        }
        assert service.find_person_uuids_by_distinct_ids(
            session, project_id=hedgerow.project_id, distinct_ids=["ann", "bob", "carl"]
        ) == {"ann": a, "bob": b}
        assert service.find_person_uuids_by_emails(
            session, project_id=hedgerow.project_id, emails=["bob@example.com", "x@example.com"]
        ) == {"bob@example.com": b}
        assert (
            service.find_person_uuids_by_distinct_ids(session, project_id=other.id, distinct_ids=["ann"])
            == {}
        )
        assert service.get_persons_by_uuids(session, project_id=other.id, uuids=[a]) == []
