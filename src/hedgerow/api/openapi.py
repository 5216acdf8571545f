"""OpenAPI helpers for routes that parse their own bodies (so auth runs before parsing)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def body_of(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }
