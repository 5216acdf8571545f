"""/api/projects/{project_id}/insights/ — CRUD with results, dashboards, soft delete, activity."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from hedgerow.api.deps import (
    SAFE_METHODS,
    Scoped,
    SessionDep,
    StoreDep,
    catch_up_ingestion,
    check_format,
    current_actor,
    json_body,
    project_scope,
    validate_body,
)
from hedgerow.api.envelope import limit_offset_page, page_window
from hedgerow.api.openapi import body_of
from hedgerow.api.pages import activity_page
from hedgerow.domain.activity.service import list_activity
from hedgerow.domain.insights import listing, service, views
from hedgerow.domain.insights.context import parse_override
from hedgerow.domain.insights.presentation import Viewing
from hedgerow.domain.insights.results import parse_refresh
from hedgerow.domain.insights.schemas import InsightBasicOut, InsightOut
from hedgerow.domain.insights.schemas_write import InsightsViewed, InsightWrite
from hedgerow.domain.projects.schemas import ProjectRef
from hedgerow.domain.sharing import service as sharing
from hedgerow.errors import AuthenticationFailed, InvalidInput, NotFound, PermissionDenied

SHARING_TOKEN = "sharing_access_token"
TRUTHY = ("1", "true", "yes", "on")


def no_sharing_token(request: Request) -> None:
    """A sharing token only ever reads; writes with one are refused before anything else
    (a router dependency, so it runs before authentication)."""
    if SHARING_TOKEN in request.query_params and request.method not in SAFE_METHODS:
        raise AuthenticationFailed("Sharing access token can only be used for GET requests.")


# Readers see every capture already answered 200 (see deps.catch_up_ingestion).
routes = APIRouter(
    tags=["insights"],
    dependencies=[Depends(no_sharing_token), Depends(catch_up_ingestion)],
)
_insight_scope = project_scope("insight")
Insights = Annotated[Scoped, Depends(_insight_scope)]
Activity = Annotated[Scoped, Depends(project_scope("activity_log", action="read"))]
# Recording a view only reads insights; the actions PostHog declares no scope for refuse scoped keys.
InsightReaders = Annotated[Scoped, Depends(project_scope("insight", action="read"))]
Undeclared = Annotated[Scoped, Depends(project_scope(None, undeclared=True))]


@dataclass(frozen=True)
class Reader:
    """Who reads insights: a keyed user, or a sharing token limited to its dashboard's insights."""

    project: ProjectRef
    viewer_id: int | None
    only: set[int] | None = None


async def insight_reader(request: Request, session: SessionDep, project_id: str) -> Reader:
    token = request.query_params.get(SHARING_TOKEN)
    if token is None:
        ctx = await _insight_scope(request, session, await current_actor(request, session), project_id)
        return Reader(project=ctx.project, viewer_id=ctx.actor.user.id)
    found = sharing.insights_for_token(session, token)
    if found is None:
        raise AuthenticationFailed("Sharing access token is invalid.")
    access, insight_ids = found
    if project_id not in (str(access.project.id), "@current"):
        raise PermissionDenied("You don't have access to the project.")
    return Reader(project=access.project, viewer_id=None, only=insight_ids)


Readers = Annotated[Reader, Depends(insight_reader)]


def _viewing(request: Request, viewer: Scoped | Reader, store: StoreDep, body: Any = None) -> Viewing:
    if isinstance(viewer, Reader) and viewer.only is not None:
        # Shared views compute what is missing or stale and never force a recalculation.
        return Viewing(store=store, mode="blocking", sharing=True)
    raw = request.query_params.get("refresh")
    if raw is None and isinstance(body, dict) and body.get("refresh") is not None:
        raw = str(body["refresh"]).lower()
    viewer_id = viewer.viewer_id if isinstance(viewer, Reader) else viewer.actor.user.id
    return Viewing(store=store, mode=parse_refresh(raw), viewer_id=viewer_id)


def _json_ids(raw: str | None) -> list[int] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    values = value if isinstance(value, list) else [value]
    return [int(v) for v in values if isinstance(v, int | str) and str(v).isdigit()]


def _json_strings(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = [raw]
    values = value if isinstance(value, list) else [value]
    return [str(v) for v in values]


@routes.get("", summary="List insights")
def list_insights(request: Request, ctx: Readers, session: SessionDep, store: StoreDep) -> dict[str, Any]:
    check_format(request)
    q = request.query_params
    limit, offset = page_window(request)
    saved = q.get("saved")
    page = listing.list_insights(
        session,
        project=ctx.project,
        viewing=_viewing(request, ctx, store),
        filters=listing.ListFilters(
            basic=(q.get("basic") or "").lower() in TRUTHY,
            short_id=q.get("short_id"),
            saved=None if saved is None else saved.lower() in TRUTHY,
            favorited="favorited" in q,
            mine="user" in q,
            search=q.get("search"),
            dashboards=_json_ids(q.get("dashboards")),
            created_by=_json_ids(q.get("created_by")),
            kind=q.get("insight"),
            tags=_json_strings(q.get("tags")),
            order=q.get("order"),
            only=ctx.only,
            dates={name: q[name] for name in listing.DATE_PARAMS if q.get(name)},
        ),
        limit=limit,
        offset=offset,
    )
    return limit_offset_page(request, count=page.count, results=page.results, limit=limit, offset=offset)


@routes.post("", status_code=201, summary="Create an insight", openapi_extra=body_of(InsightWrite))
async def create_insight(request: Request, ctx: Insights, session: SessionDep, store: StoreDep) -> InsightOut:
    check_format(request)
    raw = await json_body(request)
    body, sent = validate_body(InsightWrite, raw)
    return service.create_insight(
        session,
        project=ctx.project,
        actor=ctx.actor,
        body=body,
        sent=sent,
        viewing=_viewing(request, ctx, store, raw),
    )


@routes.get("/activity", summary="Activity of every insight in this project")
def all_activity(request: Request, ctx: Activity, session: SessionDep) -> dict[str, Any]:
    return activity_page(
        request,
        lambda page, limit: list_activity(
            session, project_id=ctx.project.id, scope=service.ACTIVITY_SCOPE, page=page, limit=limit
        ),
    )


def _insight_id(raw: str) -> int:
    if not raw.isdigit():
        raise NotFound()
    return int(raw)


@routes.post("/viewed", status_code=201, summary="Record that the requester viewed these insights")
async def insights_viewed(request: Request, ctx: InsightReaders, session: SessionDep) -> Response:
    body, _ = validate_body(InsightsViewed, await json_body(request))
    views.record_views(session, project=ctx.project, user_id=ctx.actor.user.id, insight_ids=body.insight_ids)
    return Response(status_code=201)


@routes.post("/{insight_id}/viewed", status_code=201, summary="Record that the requester viewed an insight")
def insight_viewed(insight_id: str, ctx: InsightReaders, session: SessionDep) -> Response:
    views.record_views(
        session, project=ctx.project, user_id=ctx.actor.user.id, insight_ids=[_insight_id(insight_id)]
    )
    return Response(status_code=201)


@routes.get("/my_last_viewed", summary="The insights the requester viewed most recently")
def my_last_viewed(request: Request, ctx: Undeclared, session: SessionDep) -> list[InsightBasicOut]:
    check_format(request)
    return views.my_last_viewed(session, project=ctx.project, user_id=ctx.actor.user.id)


def _positive(raw: str | None, default: int) -> int:
    return int(raw) if raw is not None and raw.isdigit() and int(raw) > 0 else default


@routes.get("/trending", summary="The insights most viewed lately, with their view counts and viewers")
def trending_insights(request: Request, ctx: Undeclared, session: SessionDep) -> dict[str, Any]:
    check_format(request)
    q = request.query_params
    found = views.trending(
        session,
        project=ctx.project,
        days=_positive(q.get("days"), 7),
        limit=_positive(q.get("limit"), 10),
    )
    return {"results": found}


@routes.post("/cancel", status_code=201, summary="Cancel a running calculation by its client_query_id")
async def cancel_query(request: Request, ctx: Undeclared) -> Response:
    body = await json_body(request)
    if not isinstance(body, dict) or not body.get("client_query_id"):
        raise InvalidInput("Missing client_query_id")
    # Calculations run to completion within their request: there is never one left to stop.
    return Response(status_code=201)


@routes.post("/timing", status_code=201, summary="Accept a client's timing report (not kept)")
def timing(ctx: Undeclared) -> Response:
    return Response(status_code=201)


@routes.get("/{insight_id}/activity", summary="Activity of one insight")
def insight_activity(request: Request, insight_id: str, ctx: Activity, session: SessionDep) -> dict[str, Any]:
    service.activity_item_exists(session, project=ctx.project, insight_id=_insight_id(insight_id))
    return activity_page(
        request,
        lambda page, limit: list_activity(
            session,
            project_id=ctx.project.id,
            scope=service.ACTIVITY_SCOPE,
            item_id=insight_id,
            page=page,
            limit=limit,
        ),
    )


@routes.get("/{insight_id}", summary="Retrieve an insight, computing its result per `refresh`")
def retrieve_insight(
    request: Request, insight_id: str, ctx: Readers, session: SessionDep, store: StoreDep
) -> InsightOut:
    check_format(request)
    q = request.query_params
    from_dashboard = q.get("from_dashboard")
    # The numeric id, or (as newer PostHog accepts) the short_id; sharing tokens use ids only.
    wanted: int | str = int(insight_id) if insight_id.isdigit() else insight_id
    if ctx.only is not None and wanted not in ctx.only:
        raise NotFound()
    shared = ctx.only is not None
    return service.get_insight(
        session,
        project=ctx.project,
        insight_id=wanted,
        viewing=_viewing(request, ctx, store),
        from_dashboard=int(from_dashboard) if from_dashboard and from_dashboard.isdigit() else None,
        # Overrides are ignored under a sharing token: a shared view shows what was shared.
        filters_override=None if shared else parse_override(q.get("filters_override"), "filters_override"),
        tile_filters_override=None
        if shared
        else parse_override(q.get("tile_filters_override"), "tile_filters_override"),
    )


async def _update(
    request: Request, insight_id: str, ctx: Scoped, session: SessionDep, store: StoreDep
) -> InsightOut:
    check_format(request)
    raw = await json_body(request)
    body, sent = validate_body(InsightWrite, raw)
    return service.update_insight(
        session,
        project=ctx.project,
        actor=ctx.actor,
        insight_id=_insight_id(insight_id),
        body=body,
        sent=sent,
        viewing=_viewing(request, ctx, store, raw),
    )


@routes.patch("/{insight_id}", summary="Update an insight", openapi_extra=body_of(InsightWrite))
async def patch_insight(
    request: Request, insight_id: str, ctx: Insights, session: SessionDep, store: StoreDep
) -> InsightOut:
    return await _update(request, insight_id, ctx, session, store)


@routes.put("/{insight_id}", summary="Update an insight", openapi_extra=body_of(InsightWrite))
async def put_insight(
    request: Request, insight_id: str, ctx: Insights, session: SessionDep, store: StoreDep
) -> InsightOut:
    return await _update(request, insight_id, ctx, session, store)


@routes.delete("/{insight_id}", status_code=405, summary="Not allowed: soft delete with PATCH deleted=true")
def delete_insight(insight_id: str, ctx: Insights) -> Response:
    return Response(status_code=405)


# The web app uses the environments path; an environment id resolves to its project.
router = APIRouter()
router.include_router(routes, prefix="/api/projects/{project_id}/insights")
router.include_router(routes, prefix="/api/environments/{project_id}/insights")
