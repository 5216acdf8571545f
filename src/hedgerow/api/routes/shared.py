"""/shared/{token} — the public page of a shared dashboard (HTML, JSON with `.json`, an image with
`.png`), unlocks.

Only the sharing token (and a password token for protected shares) is considered here: API keys
and any other credentials are ignored, and a token reaches its one dashboard and nothing else.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from hedgerow.api.deps import SessionDep, StoreDep, catch_up_ingestion, json_body
from hedgerow.api.templates.page import dashboard_page, not_found_page, unlock_page
from hedgerow.api.templates.png import dashboard_png
from hedgerow.domain.sharing import service
from hedgerow.domain.sharing.passwords import TOKEN_LIFETIME_SECONDS

# Readers see every capture already answered 200 (see deps.catch_up_ingestion).
router = APIRouter(tags=["shared"], dependencies=[Depends(catch_up_ingestion)])
COOKIE = "posthog_sharing_token"
PREFIXES = ("/shared/{token}", "/embedded/{token}", "/shared_dashboard/{token}")


def _split(token: str) -> tuple[str, str]:
    access_token, _, extension = token.partition(".")
    return access_token, extension


def _share_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE)


def _not_found() -> HTMLResponse:
    return HTMLResponse(not_found_page(), status_code=404)


def _wants_json(request: Request, extension: str) -> bool:
    return extension == "json" or "application/json" in request.headers.get("accept", "")


def shared_view(request: Request, token: str, session: SessionDep, store: StoreDep) -> Response:
    access_token, extension = _split(token)
    access = service.resolve_token(session, access_token)
    if access is None or extension not in ("", "json", "png"):
        return _not_found()
    as_json = _wants_json(request, extension)
    share_token = _share_token(request)
    if not service.unlocked(session, access, share_token):
        return JSONResponse({"type": "unlock"}) if as_json else HTMLResponse(unlock_page())
    embedded = request.url.path.startswith("/embedded/") or "embedded" in request.query_params
    data: dict[str, Any] = service.exported_data(session, store, access, embedded=embedded)
    if forced := request.query_params.get("force_type"):
        data["type"] = forced
    if extension == "png":
        return Response(dashboard_png(data), media_type="image/png")
    if access.password_required and share_token:
        data["shareToken"] = share_token
    return JSONResponse(data) if as_json else HTMLResponse(dashboard_page(data))


async def unlock(request: Request, token: str, session: SessionDep) -> Response:
    access_token, _ = _split(token)
    access = service.resolve_token(session, access_token)
    if access is None:
        return _not_found()
    body = await json_body(request)
    password = body.get("password") if isinstance(body, dict) else None
    client = request.client.host if request.client else None
    minted = service.log_in(session, access, password, client)
    if minted is None:
        return JSONResponse({"error": "Incorrect password"}, status_code=401)
    response = JSONResponse({"shareToken": minted})
    path = request.url.path.split(".", 1)[0]
    response.set_cookie(
        COOKIE,
        minted,
        max_age=TOKEN_LIFETIME_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=path,
    )
    return response


for prefix in PREFIXES:
    router.add_api_route(prefix, shared_view, methods=["GET"], include_in_schema=prefix == PREFIXES[0])
    router.add_api_route(prefix, unlock, methods=["POST"], include_in_schema=prefix == PREFIXES[0])
