"""Reading persons: lookups other packages rely on, and the persons API list and retrieve."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from hedgerow.domain.persons.filtering import PropertyFilter, matches_all
from hedgerow.domain.persons.models import Person, PersonDistinctId
from hedgerow.domain.persons.presentation import person_detail_out, person_out
from hedgerow.domain.persons.schemas import PersonDetailOut, PersonOut
from hedgerow.errors import NotFound

# SQLite caps bound parameters per statement; chunking keeps large lookups under it.
_CHUNK = 500


@dataclass(frozen=True)
class PersonPage:
    count: int
    results: list[PersonOut]


def _chunks(values: Sequence[str]) -> list[Sequence[str]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def distinct_ids_by_person(session: Session, person_pks: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    for start in range(0, len(person_pks), _CHUNK):
        rows = session.execute(
            select(PersonDistinctId.person_id, PersonDistinctId.distinct_id)
            .where(PersonDistinctId.person_id.in_(person_pks[start : start + _CHUNK]))
            .order_by(PersonDistinctId.id)
        )
        for person_pk, distinct_id in rows:
            found[person_pk].append(distinct_id)
    return found


def _present(session: Session, persons: Sequence[Person]) -> list[PersonOut]:
    ids = distinct_ids_by_person(session, [p.id for p in persons])
    return [person_out(p, ids.get(p.id, [])) for p in persons]


def get_persons_by_uuids(session: Session, *, project_id: int, uuids: Sequence[str]) -> list[PersonOut]:
    """The persons with these UUIDs, in the order asked; unknown UUIDs are left out."""
    wanted = [str(u) for u in uuids]
    found: dict[str, Person] = {}
    for chunk in _chunks(wanted):
        for person in session.scalars(
            select(Person).where(Person.project_id == project_id, Person.uuid.in_(chunk))
        ):
            found[person.uuid] = person
    ordered = [found[u] for u in dict.fromkeys(wanted) if u in found]
    return _present(session, ordered)


def find_person_uuids_by_distinct_ids(
    session: Session, *, project_id: int, distinct_ids: Sequence[str]
) -> dict[str, str]:
    """distinct_id -> person UUID, for the ids that belong to a person."""
    result: dict[str, str] = {}
    for chunk in _chunks(list(distinct_ids)):
        rows = session.execute(
            select(PersonDistinctId.distinct_id, Person.uuid)
            .join(Person, Person.id == PersonDistinctId.person_id)
            .where(PersonDistinctId.project_id == project_id, PersonDistinctId.distinct_id.in_(chunk))
        )
        result.update({distinct_id: uuid for distinct_id, uuid in rows})
    return result


def _email_column() -> ColumnElement[Any]:
    return Person.properties["email"].as_string()


def find_person_uuids_by_emails(
    session: Session, *, project_id: int, emails: Sequence[str]
) -> dict[str, str]:
    """email -> person UUID (the oldest person when several share an email)."""
    result: dict[str, str] = {}
    for chunk in _chunks(list(emails)):
        rows = session.execute(
            select(_email_column(), Person.uuid)
            .where(Person.project_id == project_id, _email_column().in_(chunk))
            .order_by(Person.id.desc())
        )
        result.update({email: uuid for email, uuid in rows})
    return result


def _filtered(
    project_id: int, *, distinct_id: str | None, email: str | None, search: str | None
) -> Select[Person]:
    query = select(Person).where(Person.project_id == project_id)
    if distinct_id is not None:
        query = query.where(
            Person.id.in_(
                select(PersonDistinctId.person_id).where(
                    PersonDistinctId.project_id == project_id, PersonDistinctId.distinct_id == distinct_id
                )
            )
        )
    if email is not None:
        query = query.where(_email_column() == email)
    if search and search.strip():
        needle = f"%{search.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(_email_column()).like(needle),
                Person.uuid == search.strip().lower(),
                Person.id.in_(
                    select(PersonDistinctId.person_id).where(
                        PersonDistinctId.project_id == project_id,
                        func.lower(PersonDistinctId.distinct_id).like(needle),
                    )
                ),
            )
        )
    return query


def list_persons(
    session: Session,
    *,
    project_id: int,
    distinct_id: str | None = None,
    email: str | None = None,
    search: str | None = None,
    properties: Sequence[PropertyFilter] = (),
    limit: int,
    offset: int,
    count_all: bool = True,
) -> PersonPage:
    """Newest first. Property filters are evaluated here, with PostHog's operator semantics,
    rather than in SQL, so SQLite and PostgreSQL agree on JSON types (numbers, booleans, null).

    Without `count_all`, `count` is only exact enough to tell whether a next page exists, and
    a filtered scan stops as soon as the page is full.
    """
    query = _filtered(project_id, distinct_id=distinct_id, email=email, search=search)
    ordered = query.order_by(Person.created_at.desc(), Person.id.desc())
    if properties:
        wanted = None if count_all else offset + limit + 1
        matched: list[Person] = []
        for person in session.scalars(ordered.execution_options(yield_per=500)):
            if matches_all(person.properties, properties):
                matched.append(person)
                if wanted is not None and len(matched) >= wanted:
                    break
        return PersonPage(count=len(matched), results=_present(session, matched[offset : offset + limit]))
    if count_all:
        count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        page = list(session.scalars(ordered.limit(limit).offset(offset)))
        return PersonPage(count=count, results=_present(session, page))
    page = list(session.scalars(ordered.limit(limit + 1).offset(offset)))
    return PersonPage(count=offset + len(page), results=_present(session, page[:limit]))


def find_person(session: Session, *, project_id: int, person_id: str) -> Person:
    """`person_id` is the integer primary key or the UUID, as PostHog accepts both."""
    condition = Person.uuid == person_id.lower()
    if person_id.isdigit():
        condition = Person.id == int(person_id)
    person = session.scalars(select(Person).where(Person.project_id == project_id, condition)).first()
    if person is None:
        raise NotFound()
    return person


def get_person(session: Session, *, project_id: int, person_id: str) -> PersonDetailOut:
    person = find_person(session, project_id=project_id, person_id=person_id)
    return person_detail_out(person, distinct_ids_by_person(session, [person.id]).get(person.id, []))
