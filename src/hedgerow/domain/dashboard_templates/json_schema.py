"""The JSON Schema a dashboard template document must satisfy (draft 7)."""

from __future__ import annotations

from typing import Any

TEMPLATE_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Dashboard template",
    "description": "A dashboard template: the tiles, filters and variables a new dashboard starts from.",
    "type": "object",
    "required": ["template_name", "dashboard_description", "dashboard_filters", "tiles"],
    "properties": {
        "id": {"type": "string", "description": "Identifier of the template."},
        "template_name": {"type": "string", "description": "Name shown when choosing a template."},
        "team_id": {"type": ["number", "null"], "description": "Project owning the template, if any."},
        "created_at": {"type": "string", "description": "When the template was created."},
        "image_url": {"type": ["string", "null"], "description": "Preview image for the template."},
        "dashboard_description": {"type": "string", "description": "Description of created dashboards."},
        "dashboard_filters": {"type": "object", "description": "Filters applied to created dashboards."},
        "tiles": {
            "type": "array",
            "minItems": 1,
            "description": "Tiles of the dashboard: insights or text.",
            "items": {"type": "object"},
        },
        "variables": {
            "description": "Variables the user fills in when creating a dashboard.",
            "anyOf": [
                {"type": "null"},
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id", "name", "type", "default", "description", "required"],
                        "properties": {
                            "id": {"type": "string", "description": "Placeholder id, e.g. VARIABLE_1."},
                            "name": {"type": "string", "description": "Name shown to the user."},
                            "type": {"enum": ["event"], "description": "Kind of value."},
                            "default": {"type": "object", "description": "Value used when unset."},
                            "description": {"type": "string", "description": "Help text."},
                            "required": {"type": "boolean", "description": "Whether it must be set."},
                        },
                    },
                },
            ],
        },
        "tags": {"type": "array", "items": {"type": "string"}, "description": "Tags of the template."},
    },
}
