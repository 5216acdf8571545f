"""/api/projects/{project_id}/persons/ — list, retrieve, property values, cohorts, activity, property
edits, split, delete (scopes person:*; activity: activity_log:read)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from hedgerow.api.deps import (
    Scoped,
    SessionDep,
    StoreDep,
    catch_up_ingestion,
    check_format,
    json_body,
    notify_ingestion,
    project_scope,
    require_scopes,
    validate_body,
)
from hedgerow.api.envelope import RequestError, limit_offset_page, page_window
from hedgerow.api.pages import activity_page
from hedgerow.domain.persons import changes, service
from hedgerow.domain.persons.filtering import parse_property_filters
from hedgerow.domain.persons.history import person_activity
from hedgerow.domain.persons.memberships import person_cohorts
from hedgerow.domain.persons.schemas import PersonDetailOut, PersonPropertiesPatch, PropertyUpdate
from hedgerow.domain.persons.split import split_person
from hedgerow.domain.persons.values import person_property_values
from hedgerow.errors import InvalidInput

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
DELETE_EVENTS = "delete_events"


# Every capture answered 200 is applied first: a person captured a moment ago is found, and an
# edit here lands after the events that came before it.
router = APIRouter(
    prefix="/api/projects/{project_id}/persons", tags=["persons"], dependencies=[Depends(catch_up_ingestion)]
)
Persons = Annotated[Scoped, Depends(project_scope("person"))]
# As PostHog: the activity routes ask for the activity log scope, not the persons one.
PersonActivity = Annotated[Scoped, Depends(project_scope("activity_log", action="read"))]
ACTIVITY_PAGE_SIZE = 10


@router.get("", summary="List persons")
def list_persons(request: Request, ctx: Persons, session: SessionDep) -> dict[str, Any]:
    check_format(request)
    limit, offset = page_window(request)
    query = request.query_params
    # PostHog counts only when asked to (`include_total`); the list is otherwise next/previous only.
    include_total = query.get("include_total", "").lower() in _TRUE
    page = service.list_persons(
        session,
        project_id=ctx.project.id,
        distinct_id=query.get("distinct_id"),
        email=query.get("email"),
        search=query.get("search"),
        properties=parse_property_filters(query.get("properties")),
        limit=limit,
        offset=offset,
        count_all=include_total,
    )
    body = limit_offset_page(request, count=page.count, results=page.results, limit=limit, offset=offset)
    if not include_total:
        body.pop("count")
    return body


@router.post("", summary="Persons are created by capturing events")
def create_person(ctx: Persons) -> Response:
    raise RequestError(405, 'Method "POST" not allowed.', code="method_not_allowed")


def _flag_text(text: str, name: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    # Refused rather than guessed: a wrong guess either keeps events asked to go or deletes
    # events asked to stay.
    raise InvalidInput("Must be a valid boolean.", code="invalid", attr=name)


def _query_flag(request: Request, name: str) -> bool:
    """PostHog tests only that the query parameter is there, so a bare `?delete_events` is
    true; `false` (or 0/no/off), which PostHog would also take as true, keeps the events."""
    raw = request.query_params.get(name)
    if raw is None:
        return False
    return raw == "" or _flag_text(raw, name)


def _body_flag(data: dict[str, Any], name: str) -> bool:
    value = data.get(name)
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value)  # anything but a number or a boolean word is refused by _flag_text
    return text != "" and _flag_text(text, name)


@router.post("/bulk_delete", status_code=202, summary="Delete up to 1000 persons")
async def bulk_delete(request: Request, ctx: Persons, session: SessionDep) -> Response:
    data = await json_body(request)
    if not isinstance(data, dict):
        raise InvalidInput("Invalid data. Expected a dictionary.")
    distinct_ids = [str(v) for v in data.get("distinct_ids") or []]
    ids = [str(v) for v in data.get("ids") or []]
    # PostHog documents `delete_events` as a query parameter and reads it from the body.
    in_query, in_body = _query_flag(request, DELETE_EVENTS), _body_flag(data, DELETE_EVENTS)
    changes.bulk_delete_persons(
        session,
        project_id=ctx.project.id,
        distinct_ids=distinct_ids,
        uuids=ids,
        delete_events=in_query or in_body,
    )
    notify_ingestion(request)
    return Response(status_code=202)


@router.get("/values", summary="The most common values of a person property")
def property_values(request: Request, ctx: Persons, session: SessionDep) -> dict[str, Any]:
    query = request.query_params
    results = person_property_values(
        session, project_id=ctx.project.id, key=query.get("key"), search=query.get("value")
    )
    return {"results": results, "refreshing": False}


@router.get("/cohorts", summary="The cohorts a person is in")
def cohorts_of_person(request: Request, ctx: Persons, session: SessionDep, store: StoreDep) -> dict[str, Any]:
    require_scopes(ctx, "cohort:read")
    found = person_cohorts(
        session, project=ctx.project, person_id=request.query_params.get("person_id"), store=store
    )
    return {"results": [cohort.model_dump(mode="json") for cohort in found]}


def _activity(request: Request, ctx: Scoped, session: Session, person_id: str | None) -> dict[str, Any]:
    return activity_page(
        request,
        lambda page, limit: person_activity(
            session, project=ctx.project, person_id=person_id, page=page, limit=limit
        ),
        ACTIVITY_PAGE_SIZE,
    )


@router.get("/activity", summary="Activity of every person in the project")
def all_activity(request: Request, ctx: PersonActivity, session: SessionDep) -> dict[str, Any]:
    return _activity(request, ctx, session, None)


@router.get("/{person_id}/activity", summary="Activity of one person")
def activity(request: Request, person_id: str, ctx: PersonActivity, session: SessionDep) -> dict[str, Any]:
    return _activity(request, ctx, session, person_id)


@router.get("/{person_id}", summary="Retrieve a person (by primary key or UUID)")
def retrieve_person(request: Request, person_id: str, ctx: Persons, session: SessionDep) -> PersonDetailOut:
    check_format(request)
    return service.get_person(session, project_id=ctx.project.id, person_id=person_id)


async def _set_properties(request: Request, person_id: str, ctx: Scoped, session: SessionDep) -> Response:
    body, _ = validate_body(PersonPropertiesPatch, await json_body(request))
    changes.set_person_properties(
        session, project_id=ctx.project.id, person_id=person_id, properties=body.properties
    )
    notify_ingestion(request)
    return Response(status_code=202)


@router.patch("/{person_id}", status_code=202, summary="Set person properties ($set)")
async def patch_person(request: Request, person_id: str, ctx: Persons, session: SessionDep) -> Response:
    return await _set_properties(request, person_id, ctx, session)


@router.put("/{person_id}", status_code=202, summary="Set person properties ($set)")
async def put_person(request: Request, person_id: str, ctx: Persons, session: SessionDep) -> Response:
    return await _set_properties(request, person_id, ctx, session)


@router.post("/{person_id}/update_property", status_code=202, summary="Set one person property")
async def update_property(request: Request, person_id: str, ctx: Persons, session: SessionDep) -> Response:
    data = await json_body(request)
    # PostHog checks the value first, and refuses a null one as missing.
    if isinstance(data, dict) and data.get("value") is None:
        raise InvalidInput("This field is required.", code="required", attr="value")
    body, _ = validate_body(PropertyUpdate, data)
    changes.set_person_properties(
        session, project_id=ctx.project.id, person_id=person_id, properties={body.key: body.value}
    )
    notify_ingestion(request)
    return Response(status_code=202)


@router.post("/{person_id}/delete_property", status_code=201, summary="Remove one person property")
async def delete_property(
    request: Request, person_id: str, ctx: Persons, session: SessionDep
) -> JSONResponse:
    data = await json_body(request)
    key = data.get("$unset") if isinstance(data, dict) else None
    if not isinstance(key, str) or not key:
        raise InvalidInput("This field is required.", code="required", attr="$unset")
    changes.delete_person_property(
        session, project=ctx.project, user_id=ctx.actor.user.id, person_id=person_id, key=key
    )
    notify_ingestion(request)
    return JSONResponse({"success": True}, status_code=201)


@router.post("/{person_id}/split", status_code=201, summary="Split a merged person")
async def split(request: Request, person_id: str, ctx: Persons, session: SessionDep) -> JSONResponse:
    data = await json_body(request)
    if not isinstance(data, dict):
        raise InvalidInput("Invalid data. Expected a dictionary.")
    split_person(
        session,
        project=ctx.project,
        user_id=ctx.actor.user.id,
        person_id=person_id,
        main_distinct_id=data.get("main_distinct_id"),
        distinct_ids_to_split=data.get("distinct_ids_to_split"),
    )
    notify_ingestion(request)
    return JSONResponse({"success": True}, status_code=201)


# `?delete_recordings` is accepted: there are no recordings here to delete.
@router.delete("/{person_id}", status_code=202, summary="Delete a person (and its events: ?delete_events)")
def delete_person(request: Request, person_id: str, ctx: Persons, session: SessionDep) -> Response:
    changes.delete_person(
        session,
        project=ctx.project,
        user_id=ctx.actor.user.id,
        person_id=person_id,
        delete_events=_query_flag(request, DELETE_EVENTS),
    )
    notify_ingestion(request)
    return Response(status_code=202)
