"""Requesting a calculation: bump `pending_version`, mark calculating, queue the job — one transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hedgerow.domain.cohorts.criteria import dependents_of
from hedgerow.domain.cohorts.models import Cohort
from hedgerow.domain.jobs.service import enqueue_job

CALCULATE_COHORT = "calculate_cohort"


def request_calculation(session: Session, cohort: Cohort) -> int:
    """Queue a calculation of a dynamic cohort; returns the new `pending_version`.

    The worker skips a job whose version is older than the cohort's `pending_version`, and the
    dedupe key folds a still-waiting job for the same cohort into this one.
    """
    cohort.pending_version = (cohort.pending_version or 0) + 1
    cohort.is_calculating = True
    session.flush()
    enqueue_job(
        session,
        kind=CALCULATE_COHORT,
        payload={"cohort_id": cohort.id, "pending_version": cohort.pending_version},
        project_id=cohort.project_id,
        dedupe_key=f"cohort:{cohort.id}",
    )
    return cohort.pending_version


def request_calculation_with_dependents(session: Session, cohort: Cohort) -> None:
    """The cohort, then every dynamic cohort whose criteria reach it (their members depend on its)."""
    request_calculation(session, cohort)
    for dependent_id in dependents_of(session, project_id=cohort.project_id, cohort_id=cohort.id):
        dependent = session.scalars(select(Cohort).where(Cohort.id == dependent_id).with_for_update()).one()
        request_calculation(session, dependent)
