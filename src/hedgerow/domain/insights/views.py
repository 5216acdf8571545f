"""Who viewed which insight when: recording views, the requester's last viewed, trending ones."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hedgerow.db.types import utcnow
from hedgerow.domain.insights.models import Insight, InsightViewed
from hedgerow.domain.insights.presentation import present_basic
from hedgerow.domain.insights.schemas import InsightBasicOut
from hedgerow.domain.projects.schemas import ProjectRef
from hedgerow.domain.projects.service import users_by_id
from hedgerow.errors import NotFound

LAST_VIEWED_COUNT = 5


def record_views(session: Session, *, project: ProjectRef, user_id: int, insight_ids: Iterable[int]) -> None:
    """The requester viewed these insights now; any that is not a live insight of the project is a 404."""
    wanted = set(insight_ids)
    found = set(
        session.scalars(
            select(Insight.id).where(
                Insight.project_id == project.id, Insight.id.in_(wanted), Insight.deleted.is_(False)
            )
        )
    )
    if found != wanted:
        raise NotFound()
    mark_viewed(session, project_id=project.id, user_id=user_id, insight_ids=wanted)


def mark_viewed(session: Session, *, project_id: int, user_id: int, insight_ids: Iterable[int]) -> None:
    wanted = set(insight_ids)
    now = utcnow()
    existing = {
        row.insight_id: row
        for row in session.scalars(
            select(InsightViewed).where(
                InsightViewed.project_id == project_id,
                InsightViewed.user_id == user_id,
                InsightViewed.insight_id.in_(wanted),
            )
        )
    }
    for insight_id in sorted(wanted):
        row = existing.get(insight_id)
        if row is None:
            try:
                with session.begin_nested():
                    session.add(
                        InsightViewed(
                            project_id=project_id, user_id=user_id, insight_id=insight_id, last_viewed_at=now
                        )
                    )
                continue
            except IntegrityError:
                # A concurrent request recorded the first view; this one moves it forward.
                row = session.scalars(
                    select(InsightViewed).where(
                        InsightViewed.project_id == project_id,
                        InsightViewed.user_id == user_id,
                        InsightViewed.insight_id == insight_id,
                    )
                ).one()
        row.last_viewed_at = now
    session.flush()


def last_viewed_by(session: Session, project_id: int, user_id: int | None) -> dict[int, datetime]:
    """When `user_id` last viewed each insight of the project they viewed."""
    if user_id is None:
        return {}
    rows = session.execute(
        select(InsightViewed.insight_id, InsightViewed.last_viewed_at).where(
            InsightViewed.project_id == project_id, InsightViewed.user_id == user_id
        )
    ).all()
    return {insight_id: at for insight_id, at in rows}


def my_last_viewed(session: Session, *, project: ProjectRef, user_id: int) -> list[InsightBasicOut]:
    """The requester's most recently viewed live insights, newest first."""
    rows = session.execute(
        select(Insight)
        .join(InsightViewed, InsightViewed.insight_id == Insight.id)
        .where(
            InsightViewed.project_id == project.id,
            InsightViewed.user_id == user_id,
            Insight.project_id == project.id,
            Insight.deleted.is_(False),
        )
        .order_by(InsightViewed.last_viewed_at.desc(), InsightViewed.id.desc())
        .limit(LAST_VIEWED_COUNT)
    ).scalars()
    return present_basic(session, list(rows))


def trending(session: Session, *, project: ProjectRef, days: int, limit: int) -> list[dict[str, Any]]:
    """Live insights viewed in the last `days` days, most viewers first, each with who viewed it."""
    since = utcnow() - timedelta(days=days)
    views = session.execute(
        select(InsightViewed.insight_id, InsightViewed.user_id)
        .join(Insight, Insight.id == InsightViewed.insight_id)
        .where(
            InsightViewed.project_id == project.id,
            InsightViewed.last_viewed_at >= since,
            Insight.deleted.is_(False),
        )
    ).all()
    viewers: dict[int, list[int]] = {}
    for insight_id, user_id in views:
        viewers.setdefault(insight_id, []).append(user_id)
    ranked = sorted(viewers, key=lambda i: (-len(viewers[i]), -i))[:limit]
    if not ranked:
        return []
    rows = {r.id: r for r in session.scalars(select(Insight).where(Insight.id.in_(ranked)))}
    users = users_by_id(session, {u for i in ranked for u in viewers[i]})
    out: list[dict[str, Any]] = []
    for basic in present_basic(session, [rows[i] for i in ranked]):
        seen_by = sorted(viewers[basic.id])
        out.append(
            {
                **basic.model_dump(mode="json"),
                "view_count": len(seen_by),
                "viewers": [users[u].model_dump(mode="json") for u in seen_by if u in users],
            }
        )
    return out
