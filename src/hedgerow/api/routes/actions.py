"""/api/projects/{project_id}/actions/ — list, create, retrieve, update; DELETE is refused (405)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from hedgerow.api.deps import Scoped, SessionDep, check_format, json_body, project_scope, validate_body
from hedgerow.api.envelope import limit_offset_page, page_window
from hedgerow.api.openapi import body_of
from hedgerow.domain.actions import service
from hedgerow.domain.actions.schemas import ActionOut, ActionWrite

router = APIRouter(prefix="/api/projects/{project_id}/actions", tags=["actions"])
Actions = Annotated[Scoped, Depends(project_scope("action"))]


@router.get("", summary="List actions")
def list_actions(request: Request, ctx: Actions, session: SessionDep) -> dict[str, Any]:
    check_format(request)
    limit, offset = page_window(request)
    page = service.list_actions(session, project=ctx.project, limit=limit, offset=offset)
    return limit_offset_page(request, count=page.count, results=page.results, limit=limit, offset=offset)


@router.post("", status_code=201, summary="Create an action", openapi_extra=body_of(ActionWrite))
async def create_action(request: Request, ctx: Actions, session: SessionDep) -> ActionOut:
    check_format(request)
    body, _ = validate_body(ActionWrite, await json_body(request))
    return service.create_action(session, project=ctx.project, actor=ctx.actor, body=body)


@router.get("/{action_id}", summary="Retrieve an action")
def retrieve_action(request: Request, action_id: str, ctx: Actions, session: SessionDep) -> ActionOut:
    check_format(request)
    return service.get_action(session, project=ctx.project, action_id=action_id)


async def _update(request: Request, action_id: str, ctx: Scoped, session: SessionDep) -> ActionOut:
    check_format(request)
    body, sent = validate_body(ActionWrite, await json_body(request))
    return service.update_action(
        session, project=ctx.project, actor=ctx.actor, action_id=action_id, body=body, sent=sent
    )


@router.patch("/{action_id}", summary="Update an action", openapi_extra=body_of(ActionWrite))
async def patch_action(request: Request, action_id: str, ctx: Actions, session: SessionDep) -> ActionOut:
    return await _update(request, action_id, ctx, session)


@router.put("/{action_id}", summary="Replace an action", openapi_extra=body_of(ActionWrite))
async def put_action(request: Request, action_id: str, ctx: Actions, session: SessionDep) -> ActionOut:
    return await _update(request, action_id, ctx, session)


@router.delete("/{action_id}", status_code=405, summary="Not allowed: soft delete with PATCH deleted=true")
def delete_action(action_id: str, ctx: Actions) -> Response:
    return Response(status_code=405)
