"""ASGI middleware: PostHog's routes take an optional trailing slash."""

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
            if len(path) > 1 and path.endswith("/"):
                scope = dict(scope)
                scope["hedgerow.original_path"] = path
                scope["path"] = path.rstrip("/") or "/"
                raw = scope.get("raw_path")
                if raw:
                    scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)
