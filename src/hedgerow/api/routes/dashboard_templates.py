"""/api/projects/{project_id}/dashboard_templates/ — list, create, retrieve, update, json_schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from hedgerow.api.deps import Scoped, SessionDep, check_format, json_body, project_scope, validate_body
from hedgerow.api.envelope import limit_offset_page, page_window
from hedgerow.api.openapi import body_of
from hedgerow.domain.dashboard_templates import service
from hedgerow.domain.dashboard_templates.json_schema import TEMPLATE_JSON_SCHEMA
from hedgerow.domain.dashboard_templates.schemas import DashboardTemplateOut, DashboardTemplateWrite

router = APIRouter(prefix="/api/projects/{project_id}/dashboard_templates", tags=["dashboard_templates"])
Templates = Annotated[Scoped, Depends(project_scope("dashboard_template"))]
AnyKey = Annotated[Scoped, Depends(project_scope(None))]


@router.get("", summary="List dashboard templates")
def list_templates(request: Request, ctx: Templates, session: SessionDep) -> dict[str, Any]:
    check_format(request)
    limit, offset = page_window(request)
    page = service.list_templates(
        session,
        project=ctx.project,
        scope=request.query_params.get("scope"),
        search_text=request.query_params.get("search"),
        limit=limit,
        offset=offset,
    )
    return limit_offset_page(request, count=page.count, results=page.results, limit=limit, offset=offset)


@router.post(
    "", status_code=201, summary="Create a dashboard template", openapi_extra=body_of(DashboardTemplateWrite)
)
async def create_template(request: Request, ctx: Templates, session: SessionDep) -> DashboardTemplateOut:
    check_format(request)
    service.check_may_write(ctx.actor)
    body, sent = validate_body(DashboardTemplateWrite, await json_body(request))
    return service.create_template(session, project=ctx.project, actor=ctx.actor, body=body, sent=sent)


@router.get("/json_schema", summary="The JSON schema of a dashboard template")
def json_schema(request: Request, ctx: AnyKey) -> JSONResponse:
    check_format(request)
    return JSONResponse(TEMPLATE_JSON_SCHEMA, headers={"Cache-Control": "max-age=120"})


@router.get("/{template_id}", summary="Retrieve a dashboard template")
def retrieve_template(
    request: Request, template_id: str, ctx: Templates, session: SessionDep
) -> DashboardTemplateOut:
    check_format(request)
    return service.get_template(
        session, project=ctx.project, template_id=template_id, scope=request.query_params.get("scope")
    )


async def _update(
    request: Request, template_id: str, ctx: Scoped, session: SessionDep
) -> DashboardTemplateOut:
    check_format(request)
    service.check_may_write(ctx.actor)
    body, sent = validate_body(DashboardTemplateWrite, await json_body(request))
    return service.update_template(
        session,
        project=ctx.project,
        actor=ctx.actor,
        template_id=template_id,
        body=body,
        sent=sent,
        scope=request.query_params.get("scope"),
    )


@router.patch(
    "/{template_id}", summary="Update a dashboard template", openapi_extra=body_of(DashboardTemplateWrite)
)
async def patch_template(
    request: Request, template_id: str, ctx: Templates, session: SessionDep
) -> DashboardTemplateOut:
    return await _update(request, template_id, ctx, session)


@router.put(
    "/{template_id}", summary="Replace a dashboard template", openapi_extra=body_of(DashboardTemplateWrite)
)
async def put_template(
    request: Request, template_id: str, ctx: Templates, session: SessionDep
) -> DashboardTemplateOut:
    return await _update(request, template_id, ctx, session)


@router.delete("/{template_id}", status_code=405, summary="Not allowed: soft delete with PATCH deleted=true")
def delete_template(template_id: str, ctx: Templates) -> Response:
    service.check_may_write(ctx.actor)  # the refusal comes before "not allowed", as in PostHog
    return Response(status_code=405)
