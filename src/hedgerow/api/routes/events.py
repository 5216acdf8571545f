"""/api/projects/{project_id}/events/ — the newest events first (scope query:read, as PostHog).

Reads drain the ingestion queue and outbox first, so every batch already answered 200 is visible
(persons included: `person_id` finds distinct ids merged a moment ago).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from hedgerow.api.deps import Scoped, SessionDep, StoreDep, catch_up_ingestion, check_format, project_scope
from hedgerow.domain.ingestion.event_listing import EventQuery, list_events
from hedgerow.domain.ingestion.timestamps import parse_iso
from hedgerow.domain.persons.service import distinct_ids_by_person, find_person
from hedgerow.errors import InvalidInput

router = APIRouter(
    prefix="/api/projects/{project_id}/events", tags=["events"], dependencies=[Depends(catch_up_ingestion)]
)
Events = Annotated[Scoped, Depends(project_scope("query", action="read"))]
DEFAULT_LIMIT = 100
MAX_LIMIT = 100_000


def _when(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    parsed = parse_iso(raw)
    if parsed is None:
        raise InvalidInput(f"Invalid datetime: {raw}", attr=name)
    return parsed


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        raise InvalidInput("A valid integer is required.", attr=name) from None
    return max(value, 0)


@router.get("", summary="List events, newest first")
async def list_project_events(
    request: Request, ctx: Events, session: SessionDep, store: StoreDep
) -> dict[str, Any]:
    check_format(request)
    query = request.query_params
    limit = min(_int(request, "limit", DEFAULT_LIMIT) or DEFAULT_LIMIT, MAX_LIMIT)
    offset = _int(request, "offset", 0)
    distinct_ids: list[str] | None = None
    if query.get("person_id"):
        # Every distinct id the person owns now, so events from before a merge are included.
        person = find_person(session, project_id=ctx.project.id, person_id=query["person_id"])
        distinct_ids = distinct_ids_by_person(session, [person.id]).get(person.id, [])
    if query.get("distinct_id"):
        wanted = query["distinct_id"]
        distinct_ids = [wanted] if distinct_ids is None or wanted in distinct_ids else []
    spec = EventQuery(
        project_id=ctx.project.id,
        event=query.get("event") or None,
        distinct_ids=distinct_ids,
        after=_when(request, "after"),
        before=_when(request, "before"),
        limit=limit + 1,
        offset=offset,
    )
    results = await run_in_threadpool(list_events, store, spec)
    next_url = None
    if len(results) > limit:
        results = results[:limit]
        # Offset paging rather than a timestamp cursor: events sharing a timestamp are never skipped.
        params = dict(query) | {"limit": str(limit), "offset": str(offset + limit)}
        path = request.scope.get("hedgerow.original_path", request.url.path)
        next_url = str(request.url.replace(path=path, query=urlencode(params)))
    return {"next": next_url, "results": results}
