"""Page-numbered lists (the activity endpoints), as PostHog shapes them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from hedgerow.domain.activity.schemas import ActivityPage


def _positive(raw: str | None, default: int) -> int:
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        return default
    return value if value > 0 else default


def activity_page(
    request: Request, fetch: Callable[[int, int], ActivityPage], default_limit: int = 100
) -> dict[str, Any]:
    page = _positive(request.query_params.get("page"), 1)
    limit = _positive(request.query_params.get("limit"), default_limit)
    result = fetch(page, limit)
    path = request.scope.get("hedgerow.original_path", request.url.path)

    def url(number: int) -> str:
        query = dict(request.query_params) | {"page": str(number), "limit": str(limit)}
        return str(request.url.replace(path=path, query=urlencode(query)))

    return {
        "results": [entry.model_dump(mode="json") for entry in result.results],
        "next": url(page + 1) if page * limit < result.total_count else None,
        "previous": url(page - 1) if page > 1 else None,
        "total_count": result.total_count,
    }
