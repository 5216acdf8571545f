"""Cohorts: list, retrieve, create, update and soft delete, with PostHog's rules for each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hedgerow.db.types import utcnow, uuid7
from hedgerow.domain.activity.service import diff_changes, log_activity
from hedgerow.domain.cohorts import criteria as crit
from hedgerow.domain.cohorts.csv_import import CsvPlan, inspect_csv, save_upload, start_import, upload_path
from hedgerow.domain.cohorts.models import Cohort, CohortCalculationHistory
from hedgerow.domain.cohorts.population import request_population
from hedgerow.domain.cohorts.presentation import present
from hedgerow.domain.cohorts.schemas import CohortOut, CohortWrite
from hedgerow.domain.cohorts.static import add_members, lock_cohort, normalise_uuid, persons_by_uuid
from hedgerow.domain.cohorts.versioning import request_calculation, request_calculation_with_dependents
from hedgerow.domain.projects.schemas import Actor, ProjectRef
from hedgerow.errors import InvalidInput, NotFound
from hedgerow.query.filters import has_criteria, normalise_legacy_groups

ACTIVITY_SCOPE = "Cohort"
DIFFED_FIELDS = (
    "name",
    "description",
    "deleted",
    "filters",
    "query",
    "groups",
    "is_static",
    "cohort_type",
    "created_by_id",
)
LEGACY_SOURCES = ("properties", "action_id", "event_id")
UNSUPPORTED_POPULATION = "populating a static cohort from its {source} is not supported; upload a CSV instead"


@dataclass(frozen=True)
class CsvUpload:
    """An uploaded file (a seekable binary stream) and where accepted uploads wait for import."""

    file: IO[bytes]
    folder: Path


@dataclass(frozen=True)
class ImportTask:
    """A CSV import to run after the request's transaction commits."""

    cohort_id: int
    history_id: str
    path: Path
    plan: CsvPlan


@dataclass(frozen=True)
class CohortPage:
    count: int
    results: list[CohortOut]


def _snapshot(row: Cohort) -> dict[str, Any]:
    return {name: getattr(row, name) for name in DIFFED_FIELDS}


def find_cohort(session: Session, *, project_id: int, cohort_id: int, lock: bool = False) -> Cohort:
    query = select(Cohort).where(Cohort.id == cohort_id, Cohort.project_id == project_id)
    row = session.scalars(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound()
    return row


def is_static(session: Session, *, project: ProjectRef, cohort_id: int) -> bool:
    """Whether an existing cohort is static (validation of a PATCH body depends on it)."""
    return find_cohort(session, project_id=project.id, cohort_id=cohort_id).is_static


@dataclass(frozen=True)
class CohortListFilter:
    """The list's query parameters: `search`, `type`, `created_by_id`, `hide_behavioral_cohorts`."""

    search: str | None = None
    type: str | None = None
    created_by_id: int | None = None
    hide_behavioral_cohorts: bool = False


def list_cohorts(
    session: Session, *, project: ProjectRef, where: CohortListFilter, limit: int, offset: int
) -> CohortPage:
    conditions = [Cohort.project_id == project.id, Cohort.deleted.is_(False)]
    if where.search:
        conditions.append(func.lower(Cohort.name).contains(where.search.lower(), autoescape=True))
    if where.type in ("static", "dynamic"):
        conditions.append(Cohort.is_static.is_(where.type == "static"))
    if where.created_by_id is not None:
        conditions.append(Cohort.created_by_id == where.created_by_id)
    ordered = select(Cohort).where(*conditions).order_by(Cohort.created_at.desc(), Cohort.id.desc())
    if where.hide_behavioral_cohorts:
        behavioral = crit.behavioral_cohort_ids(session, project_id=project.id)
        kept = [c for c in session.scalars(ordered) if c.id not in behavioral]
        return CohortPage(count=len(kept), results=present(session, kept[offset : offset + limit]))
    total = session.scalar(select(func.count()).select_from(Cohort).where(*conditions)) or 0
    rows = session.scalars(ordered.limit(limit).offset(offset)).all()
    return CohortPage(count=total, results=present(session, rows))


def get_cohort(session: Session, *, project: ProjectRef, cohort_id: int) -> CohortOut:
    return present(session, [find_cohort(session, project_id=project.id, cohort_id=cohort_id)])[0]


def _check_legacy_groups(groups: list[Any]) -> None:
    for group in groups:
        if not isinstance(group, dict) or not any(group.get(key) for key in LEGACY_SOURCES):
            # PostHog fails with a server error here; a 400 says the same thing more helpfully.
            raise InvalidInput("Each group must have properties, action_id or event_id.", attr="groups")


def _definition(row: Cohort) -> crit.Definition:
    return crit.definition_of(row)


def _check_criteria(session: Session, row: Cohort, body: CohortWrite, sent: set[str]) -> None:
    crit.check_references(
        session,
        project_id=row.project_id,
        cohort_id=row.id,
        criteria=crit.criteria_of(_definition(row)),
    )
    if "cohort_type" in sent and body.cohort_type:
        crit.check_cohort_type(
            session,
            project_id=row.project_id,
            cohort_id=row.id,
            given=body.cohort_type,
            definition=_definition(row),
        )


def _record_unsupported_population(session: Session, row: Cohort, source: str) -> None:
    """A static cohort asked to fill itself from a (HogQL) query: we cannot run that, so the
    attempt is recorded as a failed calculation rather than silently leaving the cohort empty."""
    now = utcnow()
    session.add(
        CohortCalculationHistory(
            id=str(uuid7()),
            project_id=row.project_id,
            cohort_id=row.id,
            filters={},
            count=0,
            started_at=now,
            finished_at=now,
            error=UNSUPPORTED_POPULATION.format(source=source),
            error_code="unknown",
        )
    )
    row.errors_calculating += 1
    row.last_error_at = now


def _seed_static_members(session: Session, row: Cohort, raw_ids: list[str]) -> None:
    uuids = [u for u in (normalise_uuid(v) for v in raw_ids) if u is not None]
    persons = persons_by_uuid(session, project_id=row.project_id, uuids=uuids)
    lock_cohort(session, row.id)
    add_members(session, project_id=row.project_id, cohort_id=row.id, persons=persons)


def _accept_csv(session: Session, row: Cohort, upload: CsvUpload) -> ImportTask:
    plan = inspect_csv(upload.file)
    history_id = start_import(session, cohort=row)
    path = save_upload(upload.file, upload_path(upload.folder, history_id))
    return ImportTask(cohort_id=row.id, history_id=history_id, path=path, plan=plan)


def create_cohort(
    session: Session,
    *,
    project: ProjectRef,
    actor: Actor,
    body: CohortWrite,
    sent: set[str],
    csv: CsvUpload | None = None,
) -> tuple[CohortOut, ImportTask | None]:
    if body.query and has_criteria(body.filters):
        raise InvalidInput("Cannot set both query and filters at the same time.")
    if not body.is_static and body.query:
        raise InvalidInput("Cannot create a dynamic cohort with a query. Set is_static to true.")
    groups = normalise_legacy_groups(body.groups or [])
    _check_legacy_groups(groups)
    row = Cohort(
        project_id=project.id,
        name=body.name,
        description=body.description,
        groups=groups,
        deleted=body.deleted,
        filters=body.filters,
        query=body.query,
        is_static=body.is_static,
        cohort_type=body.cohort_type if body.is_static else None,
        created_by_id=actor.user.id,
        created_at=utcnow(),
        is_calculating=False,
        errors_calculating=0,
        count=0 if body.is_static else None,
    )
    # Referenced cohorts are looked up on update only (PostHog's rule): a reference to a cohort
    # that does not exist calculates to no one.
    if "cohort_type" in sent and body.cohort_type:
        crit.check_cohort_type(
            session,
            project_id=project.id,
            cohort_id=None,
            given=body.cohort_type,
            definition=_definition(row),
        )
    if not row.is_static:
        row.cohort_type = crit.realtime_type(
            session, project_id=project.id, criteria=crit.criteria_of(_definition(row))
        )
    session.add(row)
    session.flush()
    task: ImportTask | None = None
    if row.is_static:
        task = _populate_new_static(session, row, body, csv)
    else:
        request_calculation(session, row)
    log_activity(
        session,
        project=project,
        user_id=actor.user.id,
        scope=ACTIVITY_SCOPE,
        item_id=str(row.id),
        activity="created",
        name=row.name,
        changes=[],
    )
    session.flush()
    session.refresh(row)
    return present(session, [row])[0], task


def _populate_new_static(
    session: Session, row: Cohort, body: CohortWrite, csv: CsvUpload | None
) -> ImportTask | None:
    """PostHog's order: explicit members and/or a CSV, else a query, else criteria (populated once,
    by a worker), else empty."""
    if csv is not None or body.create_static_person_ids:
        if body.create_static_person_ids:
            _seed_static_members(session, row, body.create_static_person_ids)
            row.last_calculation = utcnow()
        return _accept_csv(session, row, csv) if csv is not None else None
    if row.query:
        _record_unsupported_population(session, row, "query")
    elif has_criteria(row.filters):
        request_population(session, row)
    else:
        row.last_calculation = utcnow()
    return None


def _update_activity(was_deleted: bool, deleted: bool) -> str:
    if deleted != was_deleted:
        return "deleted" if deleted else "restored"
    return "updated"


def update_cohort(
    session: Session,
    *,
    project: ProjectRef,
    actor: Actor,
    cohort_id: int,
    body: CohortWrite,
    sent: set[str],
    csv: CsvUpload | None = None,
) -> tuple[CohortOut, ImportTask | None]:
    row = find_cohort(session, project_id=project.id, cohort_id=cohort_id, lock=True)
    before = _snapshot(row)
    was_deleted = row.deleted
    for name in ("name", "description", "groups", "is_static", "query"):
        if name in sent:
            value = getattr(body, name)
            setattr(row, name, value if value is not None or name in ("name", "query") else [])
    if "cohort_type" in sent:
        row.cohort_type = body.cohort_type
    if "filters" in sent:
        row.filters = body.filters
    criteria_edited = has_criteria(before["filters"]) or has_criteria(row.filters)
    if row.is_static and criteria_edited and before["filters"] != row.filters:
        raise InvalidInput(
            "Editing the criteria of a static cohort is not supported yet. "
            "Create a new static cohort instead."
        )
    if "deleted" in sent:
        row.deleted = body.deleted
    _check_criteria(session, row, body, sent)
    if not row.is_static:
        row.cohort_type = crit.realtime_type(
            session, project_id=project.id, criteria=crit.criteria_of(_definition(row))
        )
    task: ImportTask | None = None
    if not ("deleted" in sent and body.deleted):
        if row.is_static and csv is not None:
            task = _accept_csv(session, row, csv)
        elif not row.is_static:
            # PostHog recalculates on every update that is not a soft delete, even a rename.
            request_calculation_with_dependents(session, row)
    session.flush()
    changes = diff_changes(ACTIVITY_SCOPE, before, _snapshot(row), DIFFED_FIELDS)
    if changes:
        log_activity(
            session,
            project=project,
            user_id=actor.user.id,
            scope=ACTIVITY_SCOPE,
            item_id=str(row.id),
            activity=_update_activity(was_deleted, row.deleted),
            name=row.name,
            changes=changes,
        )
    session.flush()
    session.refresh(row)
    return present(session, [row])[0], task
