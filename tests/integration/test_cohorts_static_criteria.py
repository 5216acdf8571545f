"""A static cohort created with criteria is populated once, by a worker (cohorts.md §2.2 step 6,
§6.4, §6.5): count, history and persons after the run, no recalculation afterwards, failures
recorded."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from hedgerow.db.session import transaction
from hedgerow.db.types import utcnow
from hedgerow.domain.cohorts.models import Cohort, CohortCalculationHistory
from hedgerow.domain.cohorts.recovery import resume_imports
from hedgerow.domain.jobs.models import Job
from hedgerow.settings import Settings
from hedgerow.worker.jobs import JobContext, JobHandler
from hedgerow.worker.jobs.populate_static_cohort import POPULATE_STATIC_COHORT, PopulateStaticCohort
from hedgerow.worker.queue import ClaimedJob, JobQueue
from hedgerow.worker.runner import Worker, policy_from
from hedgerow.worker.scheduler import Scheduler
from tests.integration.test_cohorts_static import replica
from tests.support import HedgerowClient, assert_error

PRO = {"key": "plan", "type": "person", "operator": "exact", "value": "pro", "negation": False}
SIGNED_UP = {
    "key": "signed_up",
    "type": "behavioral",
    "value": "performed_event",
    "event_type": "events",
    "time_value": 7,
    "time_interval": "day",
    "negation": False,
}
BAD_REGEX = {"key": "plan", "type": "person", "operator": "regex", "value": "(unclosed", "negation": False}


def criteria(*leaves: dict[str, Any]) -> dict[str, Any]:
    return {"properties": {"type": "AND", "values": list(leaves)}}


def capture(hedgerow: HedgerowClient, *events: dict[str, Any]) -> None:
    body = {"api_key": hedgerow.init.project_api_token, "batch": list(events)}
    response = hedgerow.post("/batch/", auth=False, json=body)
    assert response.status_code == 200, response.text


def identify(distinct_id: str, **properties: Any) -> dict[str, Any]:
    return {"event": "$identify", "distinct_id": distinct_id, "properties": {"$set": properties}}


def context(hedgerow: HedgerowClient, **overrides: Any) -> JobContext:
    settings = Settings(**{"job_lease_seconds": 30.0, **overrides})
    state = hedgerow.app.state
    return JobContext(state.sessionmaker, state.store, settings, catch_up=state.replicator.drain)


def run_jobs(ctx: JobContext) -> int:
    ran = 0
    while Worker(ctx).run_one():
        ran += 1
    return ran


def create(hedgerow: HedgerowClient, **body: Any) -> dict[str, Any]:
    response = hedgerow.post(hedgerow.api("cohorts"), json={"name": "s", "is_static": True} | body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def fetch(hedgerow: HedgerowClient, cohort_id: int, action: str = "") -> Any:
    response = hedgerow.get(f"{hedgerow.api('cohorts')}{cohort_id}/{action}")
    assert response.status_code == 200, response.text
    return response.json()


def members(hedgerow: HedgerowClient, cohort_id: int) -> set[str]:
    return {p["distinct_ids"][0] for p in fetch(hedgerow, cohort_id, "persons/")["results"]}


def uuid_of(hedgerow: HedgerowClient, cohort_id: int) -> dict[str, str]:
    return {p["distinct_ids"][0]: p["id"] for p in fetch(hedgerow, cohort_id, "persons/")["results"]}


@pytest.fixture
def people(hedgerow: HedgerowClient) -> HedgerowClient:
    capture(
        hedgerow,
        identify("ann", plan="pro", email="ann@example.com"),
        identify("bob", plan="free"),
        identify("cat", plan="pro"),
        {"event": "signed_up", "distinct_id": "bob", "properties": {}},
        {"event": "signed_up", "distinct_id": "cat", "properties": {}},
    )
    return hedgerow


def test_person_property_criteria_populate_the_cohort_once(people: HedgerowClient) -> None:
    created = create(people, filters=criteria(PRO))
    assert (created["is_static"], created["is_calculating"], created["count"]) == (True, True, None)
    assert created["last_calculation"] is None and created["filters"] == criteria(PRO)
    assert fetch(people, created["id"], "persons/")["results"] == []

    assert run_jobs(context(people)) == 1
    body = fetch(people, created["id"])
    assert (body["is_calculating"], body["count"], body["errors_calculating"]) == (False, 2, 0)
    assert body["last_calculation"] is not None and body["last_error_message"] is None
    # Static cohorts are not versioned: their members are not a calculation's.
    assert (body["version"], body["pending_version"]) == (None, None)
    assert members(people, created["id"]) == {"ann", "cat"}
    assert replica(people, created["id"]) == set(uuid_of(people, created["id"]).values())
    [run] = fetch(people, created["id"], "calculation_history/")["results"]
    assert (run["is_completed"], run["is_successful"], run["count"]) == (True, True, 2)
    assert run["filters"] == criteria(PRO)["properties"] and run["main_query"]


def test_behavioral_criteria_count_events_captured_before_the_cohort(people: HedgerowClient) -> None:
    cohort = create(people, filters=criteria(SIGNED_UP))
    run_jobs(context(people))
    body = fetch(people, cohort["id"])
    assert (body["is_calculating"], body["count"]) == (False, 2)
    assert members(people, cohort["id"]) == {"bob", "cat"}


def test_membership_is_kept_when_persons_change_and_never_recalculated(people: HedgerowClient) -> None:
    cohort = create(people, filters=criteria(PRO))
    ctx = context(people)
    run_jobs(ctx)
    capture(people, identify("ann", plan="free"), identify("dan", plan="pro"))
    people.app.state.replicator.drain()
    with transaction(ctx.factory) as session:
        session.execute(
            update(Cohort)
            .where(Cohort.id == cohort["id"])
            .values(last_calculation=utcnow() - timedelta(days=2))
        )
    # Periodic recalculation passes static cohorts by, and nothing else re-runs the population.
    assert Scheduler(ctx, {}).run_once() == []
    assert run_jobs(ctx) == 0
    body = fetch(people, cohort["id"])
    assert (body["count"], body["is_calculating"]) == (2, False)
    assert members(people, cohort["id"]) == {"ann", "cat"}
    assert len(fetch(people, cohort["id"], "calculation_history/")["results"]) == 1
    # Its criteria cannot be edited either (§2.3 step 3).
    assert_error(
        people.patch(f"{people.api('cohorts')}{cohort['id']}/", json={"filters": criteria(SIGNED_UP)}),
        400,
        type="validation_error",
        code="invalid_input",
        detail=(
            "Editing the criteria of a static cohort is not supported yet. "
            "Create a new static cohort instead."
        ),
    )
    # A rename leaves its members alone.
    renamed = people.patch(f"{people.api('cohorts')}{cohort['id']}/", json={"name": "renamed"}).json()
    assert (renamed["count"], renamed["is_calculating"]) == (2, False)
    assert run_jobs(ctx) == 0


def test_a_population_that_fails_is_recorded_and_stops_calculating(people: HedgerowClient) -> None:
    cohort = create(people, filters=criteria(BAD_REGEX))
    run_jobs(context(people))
    body = fetch(people, cohort["id"])
    assert (body["is_calculating"], body["errors_calculating"]) == (False, 1)
    assert body["last_calculation"] is None and body["count"] is None
    assert body["last_error_message"] == (
        "This cohort contains an invalid regular expression. "
        "Please check your regex syntax in the matching criteria."
    )
    [run] = fetch(people, cohort["id"], "calculation_history/")["results"]
    assert (run["is_completed"], run["is_successful"]) == (True, False)
    assert "(unclosed" in run["error"]
    assert fetch(people, cohort["id"], "persons/")["results"] == []
    # A failed population is not retried by the scheduler either.
    assert Scheduler(context(people), {}).run_once() == []
    assert run_jobs(context(people)) == 0


def test_a_killed_worker_s_population_runs_again_and_adds_no_one_twice(people: HedgerowClient) -> None:
    cohort = create(people, filters=criteria(PRO))
    people.app.state.replicator.drain()
    ann = people.get(people.api("persons"), params={"distinct_id": "ann"}).json()["results"][0]["id"]
    # Ann was added by hand before the population ran.
    added = people.patch(
        f"{people.api('cohorts')}{cohort['id']}/add_persons_to_static_cohort/", json={"person_ids": [ann]}
    )
    assert added.status_code == 200
    ctx = context(people, job_lease_seconds=1.0)
    dead = JobQueue(ctx.factory, policy_from(ctx)).claim("worker-that-dies")
    assert dead is not None and dead.kind == POPULATE_STATIC_COHORT
    assert Worker(ctx).run_one() is False  # the lease still holds
    time.sleep(1.1)
    assert Worker(ctx).run_one() is True
    body = fetch(people, cohort["id"])
    assert (body["count"], body["is_calculating"]) == (2, False)
    assert members(people, cohort["id"]) == {"ann", "cat"}
    assert len(fetch(people, cohort["id"], "calculation_history/")["results"]) == 1
    # The population is done: running its job again changes nothing.
    PopulateStaticCohort().run(ctx, dead)
    assert fetch(people, cohort["id"])["count"] == 2
    assert len(fetch(people, cohort["id"], "calculation_history/")["results"]) == 1


class Crashing:
    def run(self, ctx: JobContext, job: ClaimedJob) -> None:
        raise ConnectionError("metadata store unreachable")

    def give_up(self, ctx: JobContext, job: ClaimedJob, error: str) -> None:
        PopulateStaticCohort().give_up(ctx, job, error)


def test_a_population_given_up_releases_the_cohort(people: HedgerowClient) -> None:
    cohort = create(people, filters=criteria(PRO))
    ctx = context(people, job_max_attempts=1)
    handlers: dict[str, JobHandler] = {POPULATE_STATIC_COHORT: Crashing()}
    assert Worker(ctx, handlers=handlers).run_one() is True
    body = fetch(people, cohort["id"])
    assert (body["is_calculating"], body["errors_calculating"], body["count"]) == (False, 1, None)
    [run] = fetch(people, cohort["id"], "calculation_history/")["results"]
    assert run["is_successful"] is False and "metadata store unreachable" in run["error"]


def test_turned_dynamic_before_it_ran_the_calculation_takes_over(people: HedgerowClient) -> None:
    cohort = create(people, filters=criteria(PRO))
    flipped = people.patch(f"{people.api('cohorts')}{cohort['id']}/", json={"is_static": False})
    assert flipped.status_code == 200 and flipped.json()["pending_version"] == 1
    run_jobs(context(people))
    body = fetch(people, cohort["id"])
    assert (body["is_static"], body["version"], body["count"], body["is_calculating"]) == (False, 1, 2, False)
    [run] = fetch(people, cohort["id"], "calculation_history/")["results"]
    assert run["is_successful"] is True


def test_other_static_sources_are_unchanged(people: HedgerowClient) -> None:
    empty = create(people)
    assert (empty["count"], empty["is_calculating"]) == (0, False) and empty["last_calculation"]
    seeded = create(people, filters=criteria(PRO), _create_static_person_ids=[])
    # PostHog's order: criteria come before the (default, empty) person ids.
    assert seeded["is_calculating"] is True
    run_jobs(context(people))
    assert fetch(people, seeded["id"])["count"] == 2
    with transaction(people.app.state.sessionmaker) as session:
        assert session.query(Job).filter(Job.status != "done").count() == 0


def test_restart_recovery_leaves_a_waiting_population_to_its_job(people: HedgerowClient) -> None:
    cohort = create(people, filters=criteria(PRO))
    factory = people.app.state.sessionmaker
    with transaction(factory) as session:
        session.execute(update(CohortCalculationHistory).values(started_at=utcnow() - timedelta(hours=3)))
    # CSV imports without their file are closed as failed; a population is not an import.
    assert resume_imports(factory, people.app.state.settings.data_dir / "cohort_imports") == 0
    assert fetch(people, cohort["id"])["is_calculating"] is True
    run_jobs(context(people))
    body = fetch(people, cohort["id"])
    assert (body["is_calculating"], body["count"], body["errors_calculating"]) == (False, 2, 0)
