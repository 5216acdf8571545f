"""Deletion versions of persons and distinct ids, kept so that one deleted and later revived
(the same UUID or distinct id again) is replicated at a version above its deletion, and the
analytics store's latest-version rule never brings back the deleted row."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.orm import Session

from hedgerow.domain.persons.models import PersonReplicaTombstone

_CHUNK = 500


def buried_versions(session: Session, project_id: int, kind: str, keys: list[str]) -> dict[str, int]:
    """The deletion versions of these keys (`kind`: "person" or "distinct_id"), by key, for
    those that have one. Only reads: a writer can look them up before it takes its write turn,
    provided it then checks that no person changed meanwhile (a tombstone is written only with
    the deletion of its person or distinct id)."""
    found: dict[str, int] = {}
    for start in range(0, len(keys), _CHUNK):
        rows = session.connection().execute(
            select(PersonReplicaTombstone.key, PersonReplicaTombstone.version).where(
                PersonReplicaTombstone.project_id == project_id,
                PersonReplicaTombstone.kind == kind,
                PersonReplicaTombstone.key.in_(keys[start : start + _CHUNK]),
            )
        )
        found.update({key: version for key, version in rows})
    return found


def unbury(session: Session, project_id: int, kind: str, keys: list[str]) -> None:
    """Remove the tombstones of keys that live again."""
    for start in range(0, len(keys), _CHUNK):
        session.connection().execute(
            delete(PersonReplicaTombstone).where(
                PersonReplicaTombstone.project_id == project_id,
                PersonReplicaTombstone.kind == kind,
                PersonReplicaTombstone.key.in_(keys[start : start + _CHUNK]),
            )
        )


def revive(session: Session, project_id: int, kind: str, keys: list[str]) -> dict[str, int]:
    """The deletion versions of these keys, by key, for those that have one; their tombstones
    are removed, since the keys live again."""
    found = buried_versions(session, project_id, kind, keys)
    unbury(session, project_id, kind, list(found))
    return found


def bury(
    session: Session,
    project_id: int,
    persons: Iterable[tuple[str, int]],
    distinct_ids: Iterable[tuple[str, int]] = (),
) -> None:
    """Record deletion versions ((uuid, version), (distinct id, version)) so that a revived
    UUID or distinct id starts above them."""
    rows = [("person", uuid, version) for uuid, version in persons]
    rows += [("distinct_id", distinct_id, version) for distinct_id, version in distinct_ids]
    if not rows:
        return
    keys = [(kind, key) for kind, key, _ in rows]
    for start in range(0, len(keys), _CHUNK):
        session.connection().execute(
            delete(PersonReplicaTombstone).where(
                PersonReplicaTombstone.project_id == project_id,
                tuple_(PersonReplicaTombstone.kind, PersonReplicaTombstone.key).in_(
                    keys[start : start + _CHUNK]
                ),
            )
        )
    session.connection().execute(
        insert(PersonReplicaTombstone),
        [{"project_id": project_id, "kind": k, "key": key, "version": v} for k, key, v in rows],
    )
