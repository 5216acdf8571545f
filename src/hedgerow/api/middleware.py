"""ASGI middleware: PostHog's routes take an optional trailing slash, and the other paths PostHog
serves the same resources under (legacy flat routes for the caller's current project, the
environment-level dashboards routes) are served by the project routes."""

from __future__ import annotations

import re

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
            alias = _project_path(path)
            if alias is not None:
                scope = dict(scope)
                scope.setdefault("hedgerow.original_path", path)
                scope["path"] = path = alias
                scope["raw_path"] = alias.encode()
            if len(path) > 1 and path.endswith("/"):
                scope = dict(scope)
                scope.setdefault("hedgerow.original_path", path)
                scope["path"] = path.rstrip("/") or "/"
                raw = scope.get("raw_path")
                if raw:
                    scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)


# Legacy flat routes act on the caller's current project: `/api/cohort/...`, `/api/dashboard/...`,
# `/api/insight/...`.
_LEGACY = re.compile(r"^/api/(cohort|dashboard|insight)(?=/|$)")
# Dashboards are project-level: an environment's dashboards are its project's.
_ENVIRONMENT_DASHBOARDS = re.compile(r"^/api/environments/([^/]+)/dashboards(?=/|$)")


def _project_path(path: str) -> str | None:
    """The project route serving `path`, or None when `path` is one already (or no alias)."""
    if legacy := _LEGACY.match(path):
        return f"/api/projects/@current/{legacy.group(1)}s" + path[legacy.end() :]
    if environment := _ENVIRONMENT_DASHBOARDS.match(path):
        return f"/api/projects/{environment.group(1)}/dashboards" + path[environment.end() :]
    return None
