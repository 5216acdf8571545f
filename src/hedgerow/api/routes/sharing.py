"""/api/projects/{project_id}/dashboards/{dashboard_id}/sharing/ — the share link and its passwords."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from hedgerow.api.deps import Scoped, SessionDep, check_format, json_body, project_scope, validate_body
from hedgerow.api.openapi import body_of
from hedgerow.domain.sharing import service
from hedgerow.domain.sharing.schemas import CreatedPasswordOut, PasswordWrite, SharingOut, SharingWrite
from hedgerow.errors import NotFound

router = APIRouter(prefix="/api/projects/{project_id}/dashboards/{dashboard_id}/sharing", tags=["sharing"])
Sharing = Annotated[Scoped, Depends(project_scope("sharing_configuration"))]


def _id(raw: str, message: str = "Dashboard not found.") -> int:
    if not raw.isdigit():
        raise NotFound(message)
    return int(raw)


def _refused(exc: service.SharingRefusal) -> JSONResponse:
    return JSONResponse({"error": exc.detail}, status_code=exc.status)


@router.get("", summary="The dashboard's sharing configuration (one object, not a list)")
def get_sharing(request: Request, dashboard_id: str, ctx: Sharing, session: SessionDep) -> SharingOut:
    check_format(request)
    return service.get_sharing(session, project=ctx.project, dashboard_id=_id(dashboard_id))


@router.patch(
    "", summary="Enable or disable sharing, change its settings", openapi_extra=body_of(SharingWrite)
)
async def patch_sharing(request: Request, dashboard_id: str, ctx: Sharing, session: SessionDep) -> SharingOut:
    check_format(request)
    body, sent = validate_body(SharingWrite, await json_body(request))
    return service.update_sharing(
        session, project=ctx.project, actor=ctx.actor, dashboard_id=_id(dashboard_id), body=body, sent=sent
    )


@router.post("/refresh", summary="Issue a new token; the old one works for five more minutes")
def refresh_sharing(request: Request, dashboard_id: str, ctx: Sharing, session: SessionDep) -> SharingOut:
    check_format(request)
    return service.refresh_sharing(
        session, project=ctx.project, actor=ctx.actor, dashboard_id=_id(dashboard_id)
    )


@router.post(
    "/passwords",
    status_code=201,
    summary="Add a password (shown once)",
    response_model=None,
    openapi_extra=body_of(PasswordWrite),
)
async def create_password(
    request: Request, dashboard_id: str, ctx: Sharing, session: SessionDep
) -> CreatedPasswordOut | Response:
    check_format(request)
    body, _ = validate_body(PasswordWrite, await json_body(request))
    try:
        return service.create_password(
            session, project=ctx.project, actor=ctx.actor, dashboard_id=_id(dashboard_id), body=body
        )
    except service.SharingRefusal as exc:
        return _refused(exc)


@router.delete("/passwords/{password_id}", status_code=204, summary="Deactivate a password")
def delete_password(dashboard_id: str, password_id: str, ctx: Sharing, session: SessionDep) -> Response:
    service.deactivate_password(
        session,
        project=ctx.project,
        actor=ctx.actor,
        dashboard_id=_id(dashboard_id),
        password_id=_id(password_id, "Password not found"),
    )
    return Response(status_code=204)
