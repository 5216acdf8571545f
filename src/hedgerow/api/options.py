"""OPTIONS and HEAD on the REST API, as PostHog's framework answers them.

OPTIONS on any route that serves GET describes it (name, description, what it renders and
parses) after the same checks a read of it makes: a personal API key needs the route's
`<object>:read` scope. HEAD answers as GET would, headers and all, without the body.
"""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

RENDERS = ["application/json", "text/html"]
PARSES = ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"]


def _describing(route: APIRoute) -> Any:
    name = route.summary or route.name.replace("_", " ").capitalize()

    async def describe(**_: Any) -> JSONResponse:
        return JSONResponse({"name": name, "description": "", "renders": RENDERS, "parses": PARSES})

    # The GET handler's own parameters: the same authentication, scope and project checks run.
    signature = inspect.signature(route.endpoint, eval_str=True)
    describe.__signature__ = signature.replace(return_annotation=JSONResponse)  # type: ignore[attr-defined]
    return describe


def add_options_routes(router: APIRouter) -> None:
    """An OPTIONS route beside each of `router`'s API routes that serve GET."""
    routes = [r for r in router.routes if isinstance(r, APIRoute) and r.path.startswith("/api/")]
    answered = {r.path for r in routes if "OPTIONS" in (r.methods or ())}
    for route in routes:
        if "GET" in (route.methods or ()) and route.path not in answered:
            answered.add(route.path)
            router.add_api_route(
                route.path.removeprefix(router.prefix),
                _describing(route),
                methods=["OPTIONS"],
                response_model=None,
                include_in_schema=False,
            )


class HeadAsGet:
    """HEAD on an API path is served as GET, and only the response's head is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def head_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, head_only)
