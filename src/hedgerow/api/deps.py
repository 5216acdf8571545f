"""Dependencies every route shares: a session, the caller, the project, the request body."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from hedgerow.api.envelope import RequestError, parse_error, validation_error
from hedgerow.domain.projects import service as projects
from hedgerow.domain.projects.schemas import Actor, ProjectRef
from hedgerow.domain.projects.scopes import first_missing_scope
from hedgerow.errors import NotAuthenticated, NotFound, PermissionDenied
from hedgerow.store.base import AnalyticsStore

ModelT = TypeVar("ModelT", bound=BaseModel)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    with factory() as session, session.begin():
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_store(request: Request) -> AnalyticsStore:
    """The analytics store the app opened at start (DuckDB or ClickHouse)."""
    store: AnalyticsStore = request.app.state.store
    return store


StoreDep = Annotated[AnalyticsStore, Depends(get_store)]


async def catch_up_ingestion(request: Request) -> None:
    """A router dependency for readers that must see every capture already answered 200.

    It drains the queue before the route's own dependencies open the request's session:
    draining writes to the metadata store, and on SQLite the request's transaction
    (authentication records key use) would otherwise hold the write lock.
    """
    replicator = getattr(request.app.state, "replicator", None)
    if replicator is not None:
        await run_in_threadpool(replicator.drain)


def notify_ingestion(request: Request) -> None:
    """Wake the replicator: something was queued for it (a capture, a person edit)."""
    replicator = getattr(request.app.state, "replicator", None)
    if replicator is not None:
        replicator.notify()


async def _key_from_request(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip() and not token.strip().startswith("pha_"):
        return token.strip(), "Authorization header"
    if request.method not in SAFE_METHODS and request.headers.get("content-type", "").startswith(
        "application/json"
    ):
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("personal_api_key"), str):
            return body["personal_api_key"], "body"
    if value := request.query_params.get("personal_api_key"):
        return value, "query string"
    return None


async def current_actor(request: Request, session: SessionDep) -> Actor:
    found = await _key_from_request(request)
    if found is None:
        raise NotAuthenticated()
    value, source = found
    return projects.authenticate_key(session, value, source=source)


ActorDep = Annotated[Actor, Depends(current_actor)]


@dataclass(frozen=True)
class Scoped:
    """What a project route runs with: the caller and the project, both checked."""

    actor: Actor
    project: ProjectRef


UNDECLARED_SCOPE = "This action does not support Personal API Key access"


def project_scope(
    scope_object: str | None, *, action: str | None = None, undeclared: bool = False
) -> Callable[[Request, SessionDep, ActorDep, str], Coroutine[Any, Any, Scoped]]:
    """Authorize a project route: scope (read for safe methods, write otherwise), project, membership.

    `scope_object=None` marks an action personal API keys may use without a particular scope;
    `undeclared=True` one PostHog declares no scope for, which keys limited to scopes may not use
    (legacy keys without scopes, and `*` keys, still may).
    """

    async def dependency(request: Request, session: SessionDep, actor: ActorDep, project_id: str) -> Scoped:
        if undeclared and actor.scopes and "*" not in actor.scopes:
            raise PermissionDenied(UNDECLARED_SCOPE)
        if scope_object is not None:
            needed = action or ("read" if request.method in SAFE_METHODS else "write")
            missing = first_missing_scope(actor.scopes, [f"{scope_object}:{needed}"])
            if missing is not None:
                raise PermissionDenied(f"API key missing required scope '{missing}'")
        project = projects.resolve_project(session, actor, project_id)
        projects.check_membership(actor, project)
        return Scoped(actor=actor, project=project)

    return dependency


def require_scopes(context: Scoped, *scopes: str) -> None:
    """Extra scopes beyond the route's own (e.g. `person:read` on cohort persons)."""
    missing = first_missing_scope(context.actor.scopes, scopes)
    if missing is not None:
        raise PermissionDenied(f"API key missing required scope '{missing}'")


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise parse_error(str(exc)) from None


def validate_body(model: type[ModelT], data: Any) -> tuple[ModelT, set[str]]:
    """The body as `model`, and which fields the client actually sent (PATCH semantics)."""
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise RequestError(
            400,
            f"Invalid data. Expected a dictionary, but got {kind}.",
            code="invalid_input",
            type_="validation_error",
        )
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None
    return parsed, set(parsed.model_fields_set)


def check_format(request: Request, allowed: tuple[str, ...] = ("json",)) -> str:
    """PostHog's `?format=`: an unknown renderer is a 404."""
    fmt = request.query_params.get("format", "json")
    if fmt not in allowed:
        raise NotFound()
    return fmt
