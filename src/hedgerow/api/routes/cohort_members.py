"""Cohort member actions: add/remove persons of static cohorts, the persons list (JSON or CSV),
and the calculation history."""

from __future__ import annotations

import csv
import io
import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session, sessionmaker

from hedgerow.api.deps import (
    Scoped,
    SessionDep,
    StoreDep,
    catch_up_ingestion,
    check_format,
    project_scope,
    require_scopes,
)
from hedgerow.api.envelope import page_window
from hedgerow.api.routes.cohorts import parse_cohort_id, read_body
from hedgerow.domain.cohorts import members
from hedgerow.domain.cohorts.schemas import CohortPersonOut
from hedgerow.domain.cohorts.static import replicate_static_members
from hedgerow.domain.persons.filtering import parse_property_filters

# Readers see every capture already answered 200 (see deps.catch_up_ingestion).
router = APIRouter(
    prefix="/api/projects/{project_id}/cohorts/{cohort_id}",
    tags=["cohorts"],
    dependencies=[Depends(catch_up_ingestion)],
)
Cohorts = Annotated[Scoped, Depends(project_scope("cohort"))]
CohortsRead = Annotated[Scoped, Depends(project_scope("cohort", action="read"))]

CSV_EXPORT_LIMIT = 300_000
CSV_DROPPED = ("value_at_data_point", "uuid", "type", "is_identified", "matched_recordings")
CSV_LEADING = ("id", "email", "name", "created_at", "properties", "distinct_ids")
OFFSET_IN_URL = re.compile(r"([&?]offset=)(\d+)")


def _replicate_later(background: BackgroundTasks, request: Request, store: Any) -> None:
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    background.add_task(replicate_static_members, factory, store)


@router.patch("/add_persons_to_static_cohort", summary="Add persons (by UUID) to a static cohort")
async def add_persons(
    request: Request,
    cohort_id: str,
    ctx: Cohorts,
    session: SessionDep,
    store: StoreDep,
    background: BackgroundTasks,
) -> dict[str, bool]:
    check_format(request)
    number = parse_cohort_id(cohort_id)
    data, _ = await read_body(request)
    person_ids = data.get("person_ids") if isinstance(data, dict) else None
    members.add_persons(
        session, project=ctx.project, actor=ctx.actor, cohort_id=number, person_ids=person_ids
    )
    _replicate_later(background, request, store)
    return {"success": True}


@router.patch("/remove_person_from_static_cohort", summary="Remove a person (by UUID) from a static cohort")
async def remove_person(
    request: Request,
    cohort_id: str,
    ctx: Cohorts,
    session: SessionDep,
    store: StoreDep,
    background: BackgroundTasks,
) -> dict[str, bool]:
    check_format(request)
    number = parse_cohort_id(cohort_id)
    data, _ = await read_body(request)
    person_id = data.get("person_id") if isinstance(data, dict) else None
    members.remove_person(
        session, project=ctx.project, actor=ctx.actor, cohort_id=number, person_id=person_id
    )
    _replicate_later(background, request, store)
    return {"success": True}


def _relative(limit: int, offset: int) -> str:
    return "?" + urlencode({"limit": limit, "offset": offset})


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        # PostHog fails with a server error here; falling back to the default serves the same page.
        return default
    return max(value, 0)


@router.get("/calculation_history", summary="Calculation runs and static imports of a cohort")
def calculation_history(
    request: Request, cohort_id: str, ctx: CohortsRead, session: SessionDep
) -> dict[str, Any]:
    check_format(request)
    limit = _int_param(request, "limit", 100) or 100
    offset = _int_param(request, "offset", 0)
    page = members.calculation_history(
        session, project=ctx.project, cohort_id=parse_cohort_id(cohort_id), limit=limit, offset=offset
    )
    return {
        "results": [r.model_dump(mode="json") for r in page.results],
        "count": page.count,
        "next": _relative(limit, offset + limit) if offset + limit < page.count else None,
        "previous": _relative(limit, max(0, offset - limit)) if offset > 0 else None,
    }


def _with_offset(request: Request, offset: int) -> str:
    """PostHog's persons links: the request's own absolute URL with `offset=` rewritten in place
    (or appended); an offset of 0 leaves the URL as it was, and `limit` is never added."""
    path = request.scope.get("hedgerow.original_path", request.url.path)
    url = str(request.url.replace(path=path))
    if not offset:
        return url
    if OFFSET_IN_URL.search(url):
        return OFFSET_IN_URL.sub(rf"\g<1>{offset}", url)
    return f"{url}{'&' if '?' in url else '?'}offset={offset}"


def _persons_links(request: Request, *, count: int, limit: int, offset: int) -> tuple[str | None, str | None]:
    next_url = _with_offset(request, offset + limit) if count >= limit else None
    # On page 2 the offset to show is 0, which is left unwritten: `previous` repeats the current URL.
    previous_url = _with_offset(request, offset - limit) if offset - limit >= 0 else None
    return next_url, previous_url


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}", inner, out)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _flatten(f"{prefix}.{index}", inner, out)
    else:
        out[prefix] = value


def _export_row(person: CohortPersonOut) -> dict[str, Any]:
    """A member as the CSV export shapes it: `email` lifted out of the properties, internal keys
    dropped, the leading columns first."""
    data = person.model_dump(mode="json")
    properties = dict(data["properties"])
    data["email"] = properties.pop("email", None)
    data["properties"] = properties
    for key in CSV_DROPPED:
        data.pop(key, None)
    return {key: data.pop(key) for key in CSV_LEADING if key in data} | data


def _csv_row(person: CohortPersonOut) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in _export_row(person).items():
        if isinstance(value, dict | list):
            _flatten(key, value, flat)
        else:
            flat[key] = value
    return flat


def _render_csv(people: list[CohortPersonOut]) -> str:
    rows = [_csv_row(p) for p in people]
    header: dict[str, None] = {}
    for row in rows:
        header.update(dict.fromkeys(row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(header), extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return buffer.getvalue()


@router.get("/persons", summary="Members of a cohort (JSON or CSV)")
def cohort_persons(
    request: Request, cohort_id: str, ctx: CohortsRead, session: SessionDep, store: StoreDep
) -> Any:
    require_scopes(ctx, "person:read")
    fmt = check_format(request, ("json", "csv"))
    wants_csv = fmt == "csv" or "text/csv" in request.headers.get("accept", "")
    # Any non-empty `is_csv_export` asks for the export's shaping (and size) in whichever format.
    export = wants_csv or bool(request.query_params.get("is_csv_export"))
    if export and "limit" not in request.query_params:
        limit, offset = CSV_EXPORT_LIMIT, 0
    else:
        limit, offset = page_window(request)
    people = members.cohort_persons(
        session,
        project=ctx.project,
        cohort_id=parse_cohort_id(cohort_id),
        store=store,
        limit=limit,
        offset=offset,
        search=request.query_params.get("search"),
        properties=parse_property_filters(request.query_params.get("properties")),
    )
    if wants_csv:
        return Response(_render_csv(people), media_type="text/csv")
    next_url, previous_url = _persons_links(request, count=len(people), limit=limit, offset=offset)
    return {
        "results": [_export_row(p) if export else p.model_dump(mode="json") for p in people],
        "next": next_url,
        "previous": previous_url,
    }
