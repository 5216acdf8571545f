"""/api/projects/{project_id}/cohorts/ — list, create, retrieve, update, soft delete, activity.

Member actions (add/remove persons, persons, calculation history) are in `cohort_members.py`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import UploadFile

from hedgerow.api.deps import (
    Scoped,
    SessionDep,
    StoreDep,
    catch_up_ingestion,
    check_format,
    json_body,
    project_scope,
    validate_body,
)
from hedgerow.api.envelope import limit_offset_page, page_window, validation_error
from hedgerow.api.openapi import body_of
from hedgerow.api.pages import activity_page
from hedgerow.domain.activity.service import list_activity
from hedgerow.domain.cohorts import service
from hedgerow.domain.cohorts.csv_import import run_import
from hedgerow.domain.cohorts.recovery import imports_folder
from hedgerow.domain.cohorts.schemas import CohortOut, CohortWrite
from hedgerow.domain.cohorts.service import CsvUpload, ImportTask, find_cohort
from hedgerow.domain.cohorts.static import replicate_static_members
from hedgerow.errors import NotFound
from hedgerow.store.base import AnalyticsStore

# Readers see every capture already answered 200 (see deps.catch_up_ingestion).
router = APIRouter(
    prefix="/api/projects/{project_id}/cohorts", tags=["cohorts"], dependencies=[Depends(catch_up_ingestion)]
)
Cohorts = Annotated[Scoped, Depends(project_scope("cohort"))]
Activity = Annotated[Scoped, Depends(project_scope("activity_log", action="read"))]

# Fields whose value is JSON: in form encodings they arrive as JSON text.
JSON_FIELDS = ("filters", "groups", "query", "_create_static_person_ids", "person_ids")
# List fields a form may also send as repeated keys.
LIST_FIELDS = ("_create_static_person_ids", "person_ids")
ACTIVITY_PAGE_SIZE = 10  # the cohort activity routes page by 10 unless `limit` says otherwise
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def parse_cohort_id(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise NotFound() from None


def _maybe_json(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


async def read_body(request: Request) -> tuple[dict[str, Any] | Any, UploadFile | None]:
    """The body as a dict (JSON, urlencoded or multipart) and the uploaded `csv` file, if any."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(FORM_TYPES):
        return await json_body(request), None
    form = await request.form(max_part_size=16 * 1024 * 1024)
    data: dict[str, Any] = {}
    upload: UploadFile | None = None
    for key in form:
        values = form.getlist(key)
        files = [v for v in values if isinstance(v, UploadFile)]
        texts = [v for v in values if isinstance(v, str)]
        if key == "csv" and files:
            upload = files[0]
            continue
        if key in LIST_FIELDS and len(texts) > 1:
            data[key] = texts
        elif texts:
            data[key] = _maybe_json(texts[-1]) if key in JSON_FIELDS else texts[-1]
    for key in LIST_FIELDS:
        if isinstance(data.get(key), str):
            data[key] = [data[key]]
    return data, upload


def parse_write(data: Any, *, instance_is_static: bool) -> tuple[CohortWrite, set[str]]:
    if not isinstance(data, dict):
        validate_body(CohortWrite, data)  # the same refusal every other body gets
    try:
        body = CohortWrite.model_validate(data, context={"instance_is_static": instance_is_static})
    except ValidationError as exc:
        raise validation_error(exc) from None
    return body, set(body.model_fields_set)


def schedule_import(
    background: BackgroundTasks, request: Request, store: AnalyticsStore, task: ImportTask | None
) -> None:
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    if task is not None:
        background.add_task(
            run_import,
            factory,
            cohort_id=task.cohort_id,
            history_id=task.history_id,
            path=task.path,
            plan=task.plan,
        )
    background.add_task(replicate_static_members, factory, store)


def _csv_upload(request: Request, upload: UploadFile | None) -> CsvUpload | None:
    if upload is None:
        return None
    return CsvUpload(file=upload.file, folder=imports_folder(request.app.state.settings.data_dir))


@router.get("", summary="List cohorts")
def list_cohorts(request: Request, ctx: Cohorts, session: SessionDep) -> dict[str, Any]:
    check_format(request)
    limit, offset = page_window(request)
    params = request.query_params
    created_by = params.get("created_by_id", "")
    where = service.CohortListFilter(
        search=params.get("search"),
        type=params.get("type"),
        created_by_id=int(created_by) if created_by.isdigit() else None,
        hide_behavioral_cohorts=params.get("hide_behavioral_cohorts", "").lower() in ("true", "1"),
    )
    page = service.list_cohorts(session, project=ctx.project, where=where, limit=limit, offset=offset)
    return limit_offset_page(request, count=page.count, results=page.results, limit=limit, offset=offset)


@router.post("", status_code=201, summary="Create a cohort", openapi_extra=body_of(CohortWrite))
async def create_cohort(
    request: Request, ctx: Cohorts, session: SessionDep, store: StoreDep, background: BackgroundTasks
) -> CohortOut:
    check_format(request)
    data, upload = await read_body(request)
    body, sent = parse_write(data, instance_is_static=False)
    cohort, task = service.create_cohort(
        session, project=ctx.project, actor=ctx.actor, body=body, sent=sent, csv=_csv_upload(request, upload)
    )
    schedule_import(background, request, store, task)
    return cohort


@router.get("/activity", summary="Activity of every cohort in the project")
def all_activity(request: Request, ctx: Activity, session: SessionDep) -> dict[str, Any]:
    return activity_page(
        request,
        lambda page, limit: list_activity(
            session, project_id=ctx.project.id, scope=service.ACTIVITY_SCOPE, page=page, limit=limit
        ),
        default_limit=ACTIVITY_PAGE_SIZE,
    )


@router.get("/{cohort_id}", summary="Retrieve a cohort (deleted ones too)")
def retrieve_cohort(request: Request, cohort_id: str, ctx: Cohorts, session: SessionDep) -> CohortOut:
    check_format(request)
    return service.get_cohort(session, project=ctx.project, cohort_id=parse_cohort_id(cohort_id))


async def _update(
    request: Request,
    cohort_id: str,
    ctx: Scoped,
    session: Session,
    store: AnalyticsStore,
    background: BackgroundTasks,
) -> CohortOut:
    check_format(request)
    number = parse_cohort_id(cohort_id)
    static = service.is_static(session, project=ctx.project, cohort_id=number)
    data, upload = await read_body(request)
    body, sent = parse_write(data, instance_is_static=static)
    cohort, task = service.update_cohort(
        session,
        project=ctx.project,
        actor=ctx.actor,
        cohort_id=number,
        body=body,
        sent=sent,
        csv=_csv_upload(request, upload),
    )
    schedule_import(background, request, store, task)
    return cohort


@router.patch("/{cohort_id}", summary="Update a cohort", openapi_extra=body_of(CohortWrite))
async def patch_cohort(
    request: Request,
    cohort_id: str,
    ctx: Cohorts,
    session: SessionDep,
    store: StoreDep,
    background: BackgroundTasks,
) -> CohortOut:
    return await _update(request, cohort_id, ctx, session, store, background)


@router.put("/{cohort_id}", summary="Replace a cohort", openapi_extra=body_of(CohortWrite))
async def put_cohort(
    request: Request,
    cohort_id: str,
    ctx: Cohorts,
    session: SessionDep,
    store: StoreDep,
    background: BackgroundTasks,
) -> CohortOut:
    return await _update(request, cohort_id, ctx, session, store, background)


@router.delete("/{cohort_id}", status_code=405, summary="Not allowed: soft delete with PATCH deleted=true")
def delete_cohort(cohort_id: str, ctx: Cohorts) -> Response:
    # PostHog answers before looking the cohort up, so unknown ids get the same 405.
    return Response(status_code=405)


@router.get("/{cohort_id}/activity", summary="Activity of one cohort")
def cohort_activity(request: Request, cohort_id: str, ctx: Activity, session: SessionDep) -> Any:
    try:
        number = parse_cohort_id(cohort_id)
        find_cohort(session, project_id=ctx.project.id, cohort_id=number)
    except NotFound:
        # PostHog's detail activity route answers a bare 404 for unknown cohorts.
        return Response(status_code=404)
    return activity_page(
        request,
        lambda page, limit: list_activity(
            session,
            project_id=ctx.project.id,
            scope=service.ACTIVITY_SCOPE,
            item_id=str(number),
            page=page,
            limit=limit,
        ),
        default_limit=ACTIVITY_PAGE_SIZE,
    )
