"""Health checks: `/_health` (JSON, reaches the metadata store), and the capture service's own
`/`, `/_readiness` and `/_liveness` (plain text), so probes written for PostHog's capture work too.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from sqlalchemy import text

from hedgerow.api.deps import SessionDep

router = APIRouter(tags=["health"])


@router.get("/_health", summary="Health check")
def health(session: SessionDep) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/_readiness", summary="Readiness probe", response_class=PlainTextResponse)
def readiness(session: SessionDep) -> str:
    session.execute(text("SELECT 1"))
    return "ok"


@router.get("/_liveness", summary="Liveness probe", response_class=PlainTextResponse)
def liveness() -> str:
    return "ok"


@router.get("/", summary="Capture service root (a liveness probe)", response_class=PlainTextResponse)
def root() -> str:
    return "ok"
