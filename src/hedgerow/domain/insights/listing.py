"""Listing insights with PostHog's filters (short_id, saved, search, dashboards, kind, tags, order)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hedgerow.db.types import utcnow
from hedgerow.domain.dashboards.models import Dashboard, DashboardTile
from hedgerow.domain.insights.dates import parse_moment
from hedgerow.domain.insights.models import Insight
from hedgerow.domain.insights.presentation import Viewing, present_basic, present_insights
from hedgerow.domain.insights.schemas import InsightBasicOut, InsightOut
from hedgerow.domain.insights.views import last_viewed_by
from hedgerow.domain.projects.schemas import ProjectRef


@dataclass(frozen=True)
class InsightPage:
    count: int
    results: list[InsightOut] | list[InsightBasicOut]


@dataclass(frozen=True)
class ListFilters:
    basic: bool = False
    short_id: str | None = None
    saved: bool | None = None
    favorited: bool = False
    mine: bool = False
    search: str | None = None
    dashboards: list[int] | None = None
    created_by: list[int] | None = None
    kind: str | None = None
    tags: list[str] | None = None
    order: str | None = None
    only: set[int] | None = None  # a sharing token's insights
    # Raw `date_from`/`date_to` (on last_modified_at), `created_date_from`/`created_date_to`, and
    # `last_viewed_date_from`/`last_viewed_date_to`.
    dates: dict[str, str] = field(default_factory=dict)


DATE_FILTERS = {
    "date_from": (Insight.last_modified_at, ">"),
    "date_to": (Insight.last_modified_at, "<"),
    "created_date_from": (Insight.created_at, ">"),
    "created_date_to": (Insight.created_at, "<"),
}
# On when the requester last viewed the insight (never viewed: left out).
VIEW_DATE_FILTERS = {"last_viewed_date_from": ">", "last_viewed_date_to": "<"}
DATE_PARAMS = (*DATE_FILTERS, *VIEW_DATE_FILTERS)


ORDERABLE = (
    "id",
    "order",
    "name",
    "derived_name",
    "short_id",
    "created_at",
    "last_modified_at",
    "updated_at",
    "favorited",
    "saved",
)
KIND_OF_SOURCE = {
    "TRENDS": "TrendsQuery",
    "FUNNELS": "FunnelsQuery",
    "RETENTION": "RetentionQuery",
    "PATHS": "PathsQuery",
    "STICKINESS": "StickinessQuery",
    "LIFECYCLE": "LifecycleQuery",
}


WRAPPERS = ("InsightVizNode", "DataTableNode", "DataVisualizationNode")


def _is_kind(row: Insight, kind: str) -> bool:
    """PostHog's `insight=` list filter: the legacy filters' insight type, or the query's kind."""
    query = row.query if isinstance(row.query, dict) else {}
    kind = kind.upper()
    if kind in KIND_OF_SOURCE:
        source = query.get("source") if query.get("kind") == "InsightVizNode" else None
        by_query = isinstance(source, dict) and source.get("kind") == KIND_OF_SOURCE[kind]
        return by_query or (row.filters or {}).get("insight") == kind
    if kind == "SQL":
        return _is_sql(query)
    if kind == "JSON":
        source = query.get("source") if query.get("kind") == "InsightVizNode" else None
        insight_kind = isinstance(source, dict) and source.get("kind") in KIND_OF_SOURCE.values()
        return bool(query) and not insight_kind and not _is_sql(query)
    return True


def _is_sql(query: dict[str, Any]) -> bool:
    """A wrapper node around a HogQL query: what the web app saves as an SQL insight."""
    source = query.get("source")
    return query.get("kind") in WRAPPERS and isinstance(source, dict) and source.get("kind") == "HogQLQuery"


def _mentions(row: Insight, needle: str) -> bool:
    """PostHog's `search`: a substring of the name, derived name, description or a tag, any case."""
    texts = [row.name, row.derived_name, row.description, *(row.tags or [])]
    return any(needle in text.lower() for text in texts if text)


def _sort_key(name: str) -> Any:
    def key(row: Insight) -> tuple[bool, Any]:
        value = getattr(row, name)
        return (value is None, value if value is not None else 0)

    return key


def _by_last_view(rows: list[Insight], viewed: dict[int, datetime], descending: bool) -> list[Insight]:
    """Most recent views first (never viewed last) or, ascending, never viewed first."""
    ordered = sorted(rows, key=lambda r: r.id)
    ordered.sort(key=lambda r: viewed.get(r.id) or datetime.min.replace(tzinfo=UTC), reverse=descending)
    return ordered


def _ordered(rows: list[Insight], order: str | None, viewed: dict[int, datetime]) -> list[Insight]:
    if order in ("last_viewed_at", "-last_viewed_at"):
        return _by_last_view(rows, viewed, descending=order.startswith("-"))
    field_name = (order or "order").lstrip("-")
    if field_name not in ORDERABLE:
        field_name = "order"
    ordered = sorted(rows, key=lambda r: r.id)
    ordered.sort(key=_sort_key(field_name), reverse=bool(order and order.startswith("-")))
    if order and order.startswith("-"):
        # Descending still keeps missing values last, as PostgreSQL's NULLS LAST does.
        ordered.sort(key=lambda r: getattr(r, field_name) is None)
    return ordered


def list_insights(
    session: Session, *, project: ProjectRef, viewing: Viewing, filters: ListFilters, limit: int, offset: int
) -> InsightPage:
    query = select(Insight).where(Insight.project_id == project.id, Insight.deleted.is_(False))
    if filters.short_id:
        query = query.where(Insight.short_id == filters.short_id)
    if filters.favorited:
        query = query.where(Insight.favorited.is_(True))
    if filters.mine and viewing.viewer_id is not None:
        query = query.where(Insight.created_by_id == viewing.viewer_id)
    now = utcnow()
    viewed = last_viewed_by(session, project.id, viewing.viewer_id)
    for name, raw in filters.dates.items():
        if name in VIEW_DATE_FILTERS:
            continue
        column, direction = DATE_FILTERS[name]
        moment = parse_moment(raw, now=now, timezone=project.timezone, attr=name)
        query = query.where(column > moment if direction == ">" else column < moment)
    on_live_tile = (
        select(DashboardTile.insight_id)
        .join(Dashboard, Dashboard.id == DashboardTile.dashboard_id)
        .where(DashboardTile.deleted.is_not(True), Dashboard.deleted.is_(False))
    )
    if filters.saved is True:
        query = query.where(or_(Insight.saved.is_(True), Insight.id.in_(on_live_tile)))
    elif filters.saved is False:
        query = query.where(Insight.saved.is_(False))
    for dashboard_id in filters.dashboards or []:
        query = query.where(Insight.id.in_(on_live_tile.where(DashboardTile.dashboard_id == dashboard_id)))
    if filters.only is not None:
        query = query.where(Insight.id.in_(filters.only))
    if filters.created_by is not None:
        query = query.where(Insight.created_by_id.in_(filters.created_by))
    matching = list(session.scalars(query))
    if filters.search:
        matching = [r for r in matching if _mentions(r, filters.search.lower())]
    if filters.kind:
        matching = [r for r in matching if _is_kind(r, filters.kind)]
    if filters.tags:
        wanted = {t.strip().lower() for t in filters.tags}
        matching = [r for r in matching if wanted & set(r.tags or [])]
    for name, direction in VIEW_DATE_FILTERS.items():
        if given := filters.dates.get(name):
            moment = parse_moment(given, now=now, timezone=project.timezone, attr=name)
            matching = [
                r
                for r in matching
                if (at := viewed.get(r.id)) is not None and (at > moment if direction == ">" else at < moment)
            ]
    matching = _ordered(matching, filters.order, viewed)
    count = len(matching)
    rows = matching[offset : offset + limit]
    if filters.basic:
        return InsightPage(count=count, results=present_basic(session, rows))
    return InsightPage(count=count, results=present_insights(session, project, rows, viewing))
