"""PostHog's response conventions in one place: the error body, and LimitOffset pages.

Error body: ``{"type", "code", "detail", "attr"}``, first error only, nested attrs joined by ``__``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from hedgerow.errors import (
    AuthenticationFailed,
    DomainError,
    InvalidInput,
    MalformedRequest,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
)

log = logging.getLogger("hedgerow.api")

DEFAULT_LIMIT = 100

_STATUS_AND_TYPE: list[tuple[type[DomainError], int, str]] = [
    (InvalidInput, 400, "validation_error"),
    (MalformedRequest, 400, "invalid_request"),
    (NotFound, 404, "invalid_request"),
    (PermissionDenied, 403, "authentication_error"),
    (AuthenticationFailed, 401, "authentication_error"),
    (NotAuthenticated, 401, "authentication_error"),
]


class RequestError(DomainError):
    """A request-level refusal that is not about one object (parse error, method not allowed)."""

    def __init__(self, status: int, detail: str, *, code: str, type_: str = "invalid_request"):
        super().__init__(detail, code=code)
        self.status = status
        self.type = type_


def error_body(type_: str, code: str, detail: str, attr: str | None = None) -> dict[str, Any]:
    return {"type": type_, "code": code, "detail": detail, "attr": attr}


def domain_error_response(exc: DomainError) -> JSONResponse:
    if isinstance(exc, RequestError):
        return JSONResponse(error_body(exc.type, exc.code, exc.detail, exc.attr), status_code=exc.status)
    for cls, status, type_ in _STATUS_AND_TYPE:
        if isinstance(exc, cls):
            headers = {"WWW-Authenticate": 'Bearer realm="api"'} if status == 401 else None
            return JSONResponse(error_body(type_, exc.code, exc.detail, exc.attr), status, headers=headers)
    return JSONResponse(error_body("server_error", "error", "A server error occurred."), 500)


# Pydantic error types -> (DRF code, message template). `{ctx}` keys come from the error context.
_DRF_MESSAGES: dict[str, tuple[str, str]] = {
    "missing": ("required", "This field is required."),
    "none_required": ("invalid_input", "This field must be null."),
    "string_type": ("invalid_input", "Not a valid string."),
    "string_too_long": ("max_length", "Ensure this field has no more than {max_length} characters."),
    "string_too_short": ("min_length", "Ensure this field has at least {min_length} characters."),
    "int_type": ("invalid_input", "A valid integer is required."),
    "int_parsing": ("invalid_input", "A valid integer is required."),
    "int_from_float": ("invalid_input", "A valid integer is required."),
    "float_type": ("invalid_input", "A valid number is required."),
    "float_parsing": ("invalid_input", "A valid number is required."),
    "bool_type": ("invalid_input", "Must be a valid boolean."),
    "bool_parsing": ("invalid_input", "Must be a valid boolean."),
    "literal_error": ("invalid_choice", '"{input}" is not a valid choice.'),
    "enum": ("invalid_choice", '"{input}" is not a valid choice.'),
    "list_type": ("not_a_list", 'Expected a list of items but got type "{input_type}".'),
    "dict_type": ("invalid_input", 'Expected a dictionary of items but got type "{input_type}".'),
    "model_type": ("invalid_input", "Invalid data. Expected a dictionary, but got {input_type}."),
    "model_attributes_type": ("invalid_input", "Invalid data. Expected a dictionary, but got {input_type}."),
    "uuid_parsing": ("invalid_input", "Must be a valid UUID."),
    "uuid_type": ("invalid_input", "Must be a valid UUID."),
    "datetime_parsing": (
        "invalid_input",
        "Datetime has wrong format. Use one of these formats instead: "
        "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
    ),
    "datetime_from_date_parsing": (
        "invalid_input",
        "Datetime has wrong format. Use one of these formats instead: "
        "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
    ),
    "extra_forbidden": ("invalid_input", "Unexpected field."),
}

_JSON_TYPE_NAMES = {str: "str", int: "int", float: "float", bool: "bool", list: "list", dict: "dict"}


def _first_error_to_domain(error: Any, *, drop_prefix: Sequence[str] = ("body",)) -> InvalidInput:
    loc = [str(part) for part in error.get("loc", ())]
    while loc and loc[0] in drop_prefix:
        loc = loc[1:]
    # Pydantic puts union member tags and function-validator names in loc; DRF has only field names.
    loc = [p for p in loc if not p.startswith(("function-", "literal[", "nullable[", "tagged-union["))]
    kind = error.get("type", "")
    if kind == "none_forbidden" or (error.get("input") is None and kind.endswith("_type")):
        return InvalidInput("This field may not be null.", code="null", attr="__".join(loc) or None)
    if kind in ("value_error", "assertion_error"):
        ctx_error = (error.get("ctx") or {}).get("error")
        message = str(ctx_error) if ctx_error is not None else error.get("msg", "Invalid input.")
        code = getattr(ctx_error, "code", "invalid_input")
        attr = getattr(ctx_error, "attr", None) or ("__".join(loc) or None)
        return InvalidInput(message, code=code, attr=attr)
    code, template = _DRF_MESSAGES.get(kind, ("invalid_input", error.get("msg", "Invalid input.")))
    value = error.get("input")
    fields = dict(error.get("ctx") or {})
    fields.setdefault("input", value)
    fields["input_type"] = _JSON_TYPE_NAMES.get(type(value), type(value).__name__)
    try:
        message = template.format(**fields)
    except (KeyError, IndexError):
        message = template
    return InvalidInput(message, code=code, attr="__".join(loc) or None)


def validation_error(exc: ValidationError | RequestValidationError) -> DomainError:
    errors = exc.errors()
    if not errors:
        return InvalidInput()
    first = errors[0]
    if first.get("type") == "json_invalid":
        return parse_error(str((first.get("ctx") or {}).get("error", "Invalid JSON")))
    return _first_error_to_domain(first)


def parse_error(reason: str) -> RequestError:
    return RequestError(400, f"JSON parse error - {reason}", code="parse_error")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> Response:
        return domain_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> Response:
        return domain_error_response(validation_error(exc))

    @app.exception_handler(ValidationError)
    async def _model_validation(_: Request, exc: ValidationError) -> Response:
        return domain_error_response(validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return domain_error_response(NotFound())
        if exc.status_code == 405:
            detail = f'Method "{request.method}" not allowed.'
            return domain_error_response(RequestError(405, detail, code="method_not_allowed"))
        return JSONResponse(
            error_body("invalid_request", "error", str(exc.detail)), exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _uncaught(request: Request, exc: Exception) -> Response:
        log.error(
            "unhandled error",
            exc_info=exc,
            extra={"method": request.method, "path": request.url.path},
        )
        return JSONResponse(error_body("server_error", "error", "A server error occurred."), 500)


def _url_with(request: Request, **params: int | None) -> str:
    query = dict(request.query_params)
    for key, value in params.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = str(value)
    path = request.scope.get("hedgerow.original_path", request.url.path)
    return str(request.url.replace(path=path, query=urlencode(query)))


def _non_negative(raw: str | None, default: int) -> int:
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        return default
    return value if value >= 0 else default


def page_window(request: Request, default_limit: int = DEFAULT_LIMIT) -> tuple[int, int]:
    """LimitOffset's (limit, offset), with DRF's fallback to defaults on bad values."""
    limit = _non_negative(request.query_params.get("limit"), default_limit) or default_limit
    offset = _non_negative(request.query_params.get("offset"), 0)
    return limit, offset


def limit_offset_page(
    request: Request, *, count: int, results: Sequence[BaseModel | dict[str, Any]], limit: int, offset: int
) -> dict[str, Any]:
    next_url = _url_with(request, limit=limit, offset=offset + limit) if offset + limit < count else None
    if offset <= 0:
        previous_url = None
    elif offset - limit <= 0:
        previous_url = _url_with(request, limit=limit, offset=None)
    else:
        previous_url = _url_with(request, limit=limit, offset=offset - limit)
    return {
        "count": count,
        "next": next_url,
        "previous": previous_url,
        "results": [r.model_dump(mode="json") if isinstance(r, BaseModel) else r for r in results],
    }
