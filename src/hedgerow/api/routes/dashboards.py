"""/api/projects/{project_id}/dashboards/ — list, create, retrieve, update, soft delete, templates."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

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
from hedgerow.api.envelope import limit_offset_page, page_window
from hedgerow.api.openapi import body_of
from hedgerow.domain.dashboards import service
from hedgerow.domain.dashboards.schemas import DashboardOut
from hedgerow.domain.dashboards.schemas_write import DashboardWrite
from hedgerow.domain.insights.context import parse_override
from hedgerow.domain.insights.presentation import Viewing
from hedgerow.domain.insights.results import parse_refresh
from hedgerow.errors import NotFound

# Readers see every capture already answered 200 (see deps.catch_up_ingestion).
router = APIRouter(
    prefix="/api/projects/{project_id}/dashboards",
    tags=["dashboards"],
    dependencies=[Depends(catch_up_ingestion)],
)
Dashboards = Annotated[Scoped, Depends(project_scope("dashboard"))]
# PostHog declares no scope on these actions (create_from_template_json, move_tile); requiring
# dashboard:write lets keys that may edit dashboards use them instead of refusing them outright.
DashboardsWrite = Annotated[Scoped, Depends(project_scope("dashboard", action="write"))]
FORMATS = ("json", "txt")


def _event_stream_quirk(body: dict[str, Any]) -> Response:
    """`?format=txt` picks PostHog's event-stream renderer, which emits the top-level keys only."""
    return Response("".join(body), media_type="text/event-stream; charset=utf-8")


async def _body(request: Request) -> Any:
    """JSON, or a form (PostHog's dashboards accept form-encoded PATCHes too)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        return {key: value for key, value in form.items() if isinstance(value, str)}
    return await json_body(request)


def _require_object(raw: Any) -> None:
    """Actions read their own keys; the body only has to be a JSON object."""
    if not isinstance(raw, dict):
        validate_body(DashboardWrite, raw)  # refuses it with DRF's "Expected a dictionary" error


def _dashboard_id(raw: str) -> int:
    if not raw.isdigit():
        raise NotFound()
    return int(raw)


def _viewing(request: Request, ctx: Scoped, store: StoreDep) -> Viewing:
    return Viewing(
        store=store, mode=parse_refresh(request.query_params.get("refresh")), viewer_id=ctx.actor.user.id
    )


@router.get("", summary="List dashboards", response_model=None)
def list_dashboards(request: Request, ctx: Dashboards, session: SessionDep) -> dict[str, Any] | Response:
    fmt = check_format(request, FORMATS)
    limit, offset = page_window(request)
    page = service.list_dashboards(
        session,
        project=ctx.project,
        viewer_id=ctx.actor.user.id,
        tags=request.query_params.getlist("tags"),
        exclude_generated=(request.query_params.get("exclude_generated") or "").lower() == "true",
        limit=limit,
        offset=offset,
    )
    body = limit_offset_page(request, count=page.count, results=page.results, limit=limit, offset=offset)
    return _event_stream_quirk(body) if fmt == "txt" else body


@router.post("", status_code=201, summary="Create a dashboard", openapi_extra=body_of(DashboardWrite))
async def create_dashboard(
    request: Request, ctx: Dashboards, session: SessionDep, store: StoreDep
) -> DashboardOut:
    check_format(request, FORMATS)
    raw = await _body(request)
    body, _ = validate_body(DashboardWrite, raw)
    return service.create_dashboard(
        session,
        project=ctx.project,
        actor=ctx.actor,
        body=body,
        raw=raw,
        viewing=_viewing(request, ctx, store),
    )


@router.post("/create_from_template_json", summary="Create a dashboard from a template document")
async def create_from_template_json(
    request: Request, ctx: DashboardsWrite, session: SessionDep, store: StoreDep
) -> DashboardOut:
    check_format(request, FORMATS)
    raw = await json_body(request)
    _require_object(raw)
    return service.create_from_template_json(
        session, project=ctx.project, actor=ctx.actor, raw=raw, viewing=_viewing(request, ctx, store)
    )


@router.patch("/{dashboard_id}/move_tile", summary="Move a tile to another dashboard")
async def move_tile(
    request: Request, dashboard_id: str, ctx: DashboardsWrite, session: SessionDep, store: StoreDep
) -> DashboardOut:
    check_format(request, FORMATS)
    raw = await json_body(request)
    _require_object(raw)
    return service.move_tile(
        session,
        project=ctx.project,
        actor=ctx.actor,
        dashboard_id=_dashboard_id(dashboard_id),
        raw=raw,
        viewing=_viewing(request, ctx, store),
    )


@router.get("/{dashboard_id}", summary="Retrieve a dashboard with its tiles", response_model=None)
def retrieve_dashboard(
    request: Request, dashboard_id: str, ctx: Dashboards, session: SessionDep, store: StoreDep
) -> DashboardOut | Response:
    fmt = check_format(request, FORMATS)
    result = service.get_dashboard(
        session,
        project=ctx.project,
        dashboard_id=_dashboard_id(dashboard_id),
        viewing=_viewing(request, ctx, store),
        filters_override=parse_override(request.query_params.get("filters_override"), "filters_override"),
    )
    return _event_stream_quirk(result.model_dump()) if fmt == "txt" else result


async def _update(
    request: Request, dashboard_id: str, ctx: Scoped, session: SessionDep, store: StoreDep
) -> DashboardOut:
    check_format(request, FORMATS)
    raw = await _body(request)
    body, sent = validate_body(DashboardWrite, raw)
    return service.update_dashboard(
        session,
        project=ctx.project,
        actor=ctx.actor,
        dashboard_id=_dashboard_id(dashboard_id),
        body=body,
        sent=sent,
        raw=raw,
        viewing=_viewing(request, ctx, store),
    )


@router.patch("/{dashboard_id}", summary="Update a dashboard", openapi_extra=body_of(DashboardWrite))
async def patch_dashboard(
    request: Request, dashboard_id: str, ctx: Dashboards, session: SessionDep, store: StoreDep
) -> DashboardOut:
    return await _update(request, dashboard_id, ctx, session, store)


@router.put(
    "/{dashboard_id}",
    summary="Update a dashboard (no field is required)",
    openapi_extra=body_of(DashboardWrite),
)
async def put_dashboard(
    request: Request, dashboard_id: str, ctx: Dashboards, session: SessionDep, store: StoreDep
) -> DashboardOut:
    return await _update(request, dashboard_id, ctx, session, store)


@router.delete("/{dashboard_id}", status_code=405, summary="Not allowed: soft delete with PATCH deleted=true")
def delete_dashboard(dashboard_id: str, ctx: Dashboards) -> Response:
    return Response(status_code=405)
