"""/api/projects/{project_id}/activity_log/ — the project's whole activity log, newest first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from hedgerow.api.deps import Scoped, SessionDep, project_scope
from hedgerow.api.pages import activity_page
from hedgerow.domain.activity.service import list_activity

router = APIRouter(prefix="/api/projects/{project_id}/activity_log", tags=["activity_log"])
Activity = Annotated[Scoped, Depends(project_scope("activity_log", action="read"))]


@router.get("", summary="List activity in this project")
def project_activity(request: Request, ctx: Activity, session: SessionDep) -> dict[str, Any]:
    return activity_page(
        request,
        lambda page, limit: list_activity(
            session,
            project_id=ctx.project.id,
            scope=request.query_params.get("scope"),
            page=page,
            limit=limit,
        ),
    )
