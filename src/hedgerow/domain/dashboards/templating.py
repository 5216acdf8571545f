"""Dashboards made from templates: `use_template` (by name) and `create_from_template_json`."""

from __future__ import annotations

from typing import Any

import jsonschema
from sqlalchemy.orm import Session

from hedgerow.db.types import utcnow
from hedgerow.domain.dashboard_templates.json_schema import TEMPLATE_JSON_SCHEMA
from hedgerow.domain.dashboard_templates.service import find_template_by_name
from hedgerow.domain.dashboards.models import Dashboard, DashboardTile, Text
from hedgerow.domain.insights.models import Insight
from hedgerow.domain.insights.service import new_short_id
from hedgerow.domain.projects.schemas import Actor, ProjectRef
from hedgerow.errors import InvalidInput

# PostHog's hard-coded keys for its two built-in templates.
BUILT_IN_KEYS = {"DEFAULT_APP": "Product analytics", "WEBSITE_TRAFFIC": "Website traffic"}
_VALIDATOR = jsonschema.Draft7Validator(TEMPLATE_JSON_SCHEMA)


def find_template(session: Session, project: ProjectRef, key: str) -> dict[str, Any]:
    """The template `use_template` names (this project's first, then global), as a plain document.

    PostHog's hard-coded keys always mean the built-in templates.
    """
    name = BUILT_IN_KEYS.get(key, key)
    found = find_template_by_name(session, project=project, name=name, built_in=key in BUILT_IN_KEYS)
    if found is None:
        raise InvalidInput(f"Invalid template provided: {key}", attr="use_template")
    return found.model_dump(mode="json")


def validate_template_json(document: Any) -> dict[str, Any]:
    error = next(iter(sorted(_VALIDATOR.iter_errors(document), key=lambda e: e.path)), None)
    if error is not None:
        raise InvalidInput(str(error))
    assert isinstance(document, dict)
    return document


def apply_template(
    session: Session, project: ProjectRef, actor: Actor, dashboard: Dashboard, template: dict[str, Any]
) -> None:
    """Name (if none was given), description, filters, tags, then one tile per INSIGHT/TEXT entry.

    Template variables stay as placeholders: PostHog substitutes them in the browser, not here.
    """
    if not dashboard.name:
        name = template.get("template_name")
        dashboard.name = str(name)[:400] if name is not None else None
    dashboard.description = str(template.get("dashboard_description") or "")
    filters = template.get("dashboard_filters")
    dashboard.filters = dict(filters) if isinstance(filters, dict) else {}
    tags = [str(t).strip().lower() for t in template.get("tags") or [] if str(t).strip()]
    dashboard.tags = list(dict.fromkeys([*(dashboard.tags or []), *tags]))
    now = utcnow()
    for spec in template.get("tiles") or []:
        if not isinstance(spec, dict):
            continue
        kind = spec.get("type")
        tile = DashboardTile(
            dashboard_id=dashboard.id,
            layouts=spec["layouts"] if isinstance(spec.get("layouts"), dict) else {},
            color=spec["color"] if isinstance(spec.get("color"), str) else None,
            filters_overrides={},
        )
        if kind == "INSIGHT":
            insight = Insight(
                project_id=project.id,
                short_id=new_short_id(session, project.id),
                name=str(spec["name"])[:400] if spec.get("name") is not None else None,
                description=str(spec["description"])[:400] if spec.get("description") is not None else None,
                # Templates are documents from anywhere: only well-formed parts are taken over.
                query=spec["query"] if isinstance(spec.get("query"), dict) else None,
                filters=spec["filters"]
                if isinstance(spec.get("filters"), dict) and not spec.get("query")
                else {},
                is_sample=True,
                saved=False,
                tags=[],
                created_at=now,
                last_modified_at=now,
                updated_at=now,
            )
            session.add(insight)
            session.flush()
            tile.insight_id = insight.id
        elif kind == "TEXT":
            text = Text(
                project_id=project.id,
                body=spec.get("body"),
                created_by_id=actor.user.id,
                last_modified_at=now,
            )
            session.add(text)
            session.flush()
            tile.text_id = text.id
        else:
            continue  # PostHog skips tile types it does not know.
        session.add(tile)
    session.flush()
