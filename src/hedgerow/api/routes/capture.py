"""Capture endpoints: /batch/, /e/, /i/v0/e/, /capture/, /track/, /engage/ (POST, GET, OPTIONS).

Answers as PostHog's capture does: 200 `{"status": 1}` (204 with `beacon=1`), errors as
`{"status", "code", "error"}`, and open CORS (the origin is echoed, credentials allowed), since
browsers send from the customer's own site.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from hedgerow.api.capture_decoding import decode_capture_body
from hedgerow.api.deps import notify_ingestion
from hedgerow.api.envelope import domain_error_response
from hedgerow.domain.ingestion.errors import (
    CaptureRejected,
    IngestKeyRequired,
    IngestKeyUnknown,
    PayloadTooLarge,
)
from hedgerow.domain.ingestion.events import CaptureBatch, CaptureContext, parse_capture
from hedgerow.domain.ingestion.service import accept_capture_async
from hedgerow.domain.ingestion.timestamps import sent_at_from_query
from hedgerow.errors import DomainError

log = logging.getLogger("hedgerow.api")
router = APIRouter(tags=["capture"])

MB = 1024 * 1024
SINGLE_EVENT_LIMIT = 2 * MB
BATCH_LIMIT = 20 * MB
# Legacy paths decode a still-base64 text once more; /batch and /i/v0/e do not.
LEGACY_PATHS = frozenset({"/e", "/capture", "/engage", "/track"})
_ACCEPTED = b'{"status":1}'  # as JSONResponse renders {"status": 1}, built once
_STATUS: list[tuple[type[DomainError], int]] = [
    (CaptureRejected, 400),
    (IngestKeyRequired, 401),
    (IngestKeyUnknown, 403),
    (PayloadTooLarge, 413),
]


def cors_headers(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    headers = {
        "Access-Control-Allow-Origin": origin or "*",
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": request.headers.get("access-control-request-headers")
        or "Content-Type, Content-Encoding, Authorization",
        "Access-Control-Max-Age": "86400",
        "Vary": "Origin",
    }
    if origin:
        headers["Access-Control-Allow-Credentials"] = "true"
    return headers


def capture_error(request: Request, status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"status": status, "code": code, "error": message}, status_code=status, headers=cors_headers(request)
    )


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


# Bodies up to this size are decoded on the event loop (a 100-event batch takes about a
# millisecond); larger ones in a worker thread, so one big batch never holds up other requests.
INLINE_LIMIT = 256 * 1024


def _parse(request: Request, body: bytes, path: str, limit: int) -> tuple[CaptureBatch, datetime]:
    query = request.query_params
    payload: Any = decode_capture_body(
        body,
        query=query,
        content_type=request.headers.get("content-type", ""),
        content_encoding=request.headers.get("content-encoding"),
        legacy_path=path in LEGACY_PATHS,
        limit=limit,
    )
    now = datetime.now(UTC)
    ctx = CaptureContext(
        now=now, sent_at=sent_at_from_query(query.get("sent_at") or query.get("_")), engage=path == "/engage"
    )
    return parse_capture(payload, ctx), now


async def capture(request: Request) -> Response:
    if request.method == "OPTIONS":
        return JSONResponse({"status": 1}, headers=cors_headers(request))
    path = request.scope["path"].rstrip("/") or "/"
    limit = BATCH_LIMIT if path == "/batch" else SINGLE_EVENT_LIMIT
    try:
        body = await _read_body(request, limit) if request.method == "POST" else b""
        if len(body) <= INLINE_LIMIT:
            batch, now = _parse(request, body, path, limit)
        else:
            batch, now = await run_in_threadpool(_parse, request, body, path, limit)
        await accept_capture_async(request.app.state.sessionmaker, batch, now=now)
    except DomainError as exc:
        for cls, status in _STATUS:
            if isinstance(exc, cls):
                return capture_error(request, status, exc.code, exc.detail)
        return domain_error_response(exc)
    except ClientDisconnect:
        # The body never arrived whole; nothing was stored, and the client may send it again.
        return capture_error(request, 408, "request_timeout", "The client stopped sending the request body.")
    except Exception:
        log.exception("capture failed", extra={"path": path})
        return capture_error(request, 503, "service_unavailable", "The event could not be stored; retry.")
    notify_ingestion(request)
    if request.query_params.get("beacon") == "1":
        return Response(status_code=204, headers=cors_headers(request))
    return Response(_ACCEPTED, media_type="application/json", headers=cors_headers(request))


_PATHS = ("/batch", "/e", "/i/v0/e", "/capture", "/track", "/engage")
CAPTURE_PATHS = frozenset(_PATHS)
_CAPTURE_METHODS = frozenset({"GET", "POST", "OPTIONS"})


class CaptureFastPath:
    """Serves the capture endpoints before the framework's middleware, routing and dependency
    machinery, which cost more per request than decoding a 100-event batch. The routes below stay
    registered (the OpenAPI schema, other methods' 405s) and run the same handler."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in _CAPTURE_METHODS
            and (scope["path"].rstrip("/") or "/") in CAPTURE_PATHS
        ):
            response = await capture(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


# One route per method, each with its own operation id: one route serving several methods
# would give every method the same id, and the OpenAPI schema would repeat it.
for _path in _PATHS:
    for _method in ("GET", "POST", "OPTIONS"):
        router.add_api_route(
            _path,
            capture,
            methods=[_method],
            include_in_schema=_path == "/batch",
            summary="Capture events",
            operation_id=f"capture{_path.replace('/', '_')}_{_method.lower()}",
        )
