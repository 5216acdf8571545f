"""ASGI middleware: PostHog's routes take an optional trailing slash, and its legacy flat cohort
routes (`/api/cohort/...`, the caller's current project) are served by the project routes."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class OptionalTrailingSlash:
    """Routes are declared without a trailing slash; a request with one is served the same.

    The original path is kept in the scope so pagination links echo what the client used.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            legacy = _legacy_cohort_path(path)
            if legacy is not None:
                scope = dict(scope)
                scope.setdefault("hedgerow.original_path", path)
                scope["path"] = path = legacy
                scope["raw_path"] = legacy.encode()
            if len(path) > 1 and path.endswith("/"):
                scope = dict(scope)
                scope.setdefault("hedgerow.original_path", path)
                scope["path"] = path.rstrip("/") or "/"
                raw = scope.get("raw_path")
                if raw:
                    scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)


_LEGACY_COHORTS = "/api/cohort"


def _legacy_cohort_path(path: str) -> str | None:
    """`/api/cohort/{rest}` -> `/api/projects/@current/cohorts/{rest}`; None for other paths."""
    if path == _LEGACY_COHORTS or path.startswith(_LEGACY_COHORTS + "/"):
        return "/api/projects/@current/cohorts" + path[len(_LEGACY_COHORTS) :]
    return None
