"""Liveness: answers 200 when the server can reach its metadata store."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from hedgerow.api.deps import SessionDep

router = APIRouter(tags=["health"])


@router.get("/_health", summary="Health check")
def health(session: SessionDep) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}
