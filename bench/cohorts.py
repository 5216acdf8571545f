"""Cohort calculation end to end vs. a hand-written query on the bare engine.

100,000 persons and 2,000,000 events in a fresh data dir (SQLite + DuckDB, embedded workers);
a cohort of three conditions (person property, performed_event_multiple, nested cohort).
Prints the time from the PATCH that changes the cohort until the API shows
`is_calculating: false`, the time of an equivalent hand-written query on the same DuckDB
store, and their ratio.

    .venv/bin/python bench/cohorts.py [--persons N] [--events N] [--runs N] [--data-dir DIR]

With --data-dir, a directory loaded by an earlier run is reused (loading takes minutes).

Measured on the 2-core build machine, load average about 1: end to end 386-394 ms against
229-233 ms for the hand-written query, ratio 1.65-1.72 (medians of 9, polling every 10 ms).
Measured again on a later day, with calculation history recording rows read (DuckDB's profiler
on) and the time limit armed: 420-448 ms against 214-234 ms, ratio 1.91-1.96 (medians of 9); of
that, the members query plus the swap took 363 ms, the compiled query alone 265 ms against 223 ms
for the hand-written count on the same file. The same day, polling every 20 ms instead of 10:
351-452 ms against 220-240 ms, ratio 1.59-1.88 (three runs, medians of 9); polling every 10 ms in
between: 428 ms against 222 ms, ratio 1.93. The polls' own work slows the query they wait for.
Polling every 2 ms instead gave 424-493 ms and a ratio of 1.96-2.23: the polls themselves, each a
full API request, took the interpreter from the worker.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from hedgerow.app import create_app
from hedgerow.db.migrate import upgrade
from hedgerow.db.session import transaction
from hedgerow.domain.projects import service as projects
from hedgerow.settings import Settings
from hedgerow.store.base import AnalyticsStore, CompiledQuery, DistinctIdVersion, EventRow, PersonVersion

PLANS = ["free", "pro", "enterprise"]
COUNTRIES = ["GB", "US", "FR", "DE"]
EVENTS = ["$pageview", "$pageview", "$pageview", "signup", "purchase"]


def person_id(n: int) -> str:
    return str(uuid.UUID(int=n + 1, version=4))


def load(store: AnalyticsStore, project_id: int, persons: int, events: int, now: datetime) -> None:
    rng = random.Random(42)
    born = now - timedelta(days=400)
    store.append_person_versions(
        [
            PersonVersion(
                project_id,
                person_id(i),
                json.dumps(
                    {"plan": rng.choice(PLANS), "country": rng.choice(COUNTRIES), "email": f"u{i}@x.io"}
                ),
                True,
                born,
                1,
            )
            for i in range(persons)
        ]
    )
    store.append_distinct_id_versions(
        [DistinctIdVersion(project_id, f"d{i}", person_id(i), 1) for i in range(persons)]
    )
    chunk = 250_000
    for start in range(0, events, chunk):
        rows = []
        for k in range(start, min(start + chunk, events)):
            who = rng.randrange(persons)
            at = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
            rows.append(
                EventRow(
                    str(uuid.UUID(int=(1 << 64) + k, version=4)),
                    project_id,
                    rng.choice(EVENTS),
                    f"d{who}",
                    person_id(who),
                    '{"$current_url": "https://x.io/"}',
                    at,
                    at,
                )
            )
        store.append_events(rows)


def wait_calculated(
    client: TestClient, url: str, headers: dict[str, str], timeout: float = 120
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(url, headers=headers).json()
        if not body["is_calculating"]:
            return body
        time.sleep(POLL_SECONDS)
    raise TimeoutError(url)


# Each poll is a full API request (auth, catch-up, serialisation) competing with the worker for the
# interpreter and the two cores; every 20 ms keeps the measurement fine-grained (it can only
# report a finish up to 20 ms late, never early) without slowing the calculation it measures.
POLL_SECONDS = 0.02

HAND_WRITTEN = """
SELECT count(*) FROM (
    SELECT id FROM persons_latest
    WHERE project_id = $project AND json_extract_string(properties, '$.plan') = 'pro'
    INTERSECT
    SELECT pdi.person_id FROM events AS e
    JOIN person_distinct_ids_latest AS pdi
        ON pdi.project_id = e.project_id AND pdi.distinct_id = e.distinct_id
    WHERE e.project_id = $project AND e.event = '$pageview' AND e.timestamp >= $since
    GROUP BY pdi.person_id HAVING count(*) >= 3
    INTERSECT
    SELECT person_id FROM cohort_members
    WHERE project_id = $project AND cohort_id = $inner AND version = $version
)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data-dir", default=None, help="reuse (or create) this data dir")
    args = parser.parse_args()
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="hedgerow-bench-")
    os.environ["HEDGEROW_DATA_DIR"] = data_dir
    settings = Settings(embedded_workers=1)
    settings.ensure_data_dir()
    upgrade(settings.database_url)
    app = create_app(settings)
    with TestClient(app) as client:
        with transaction(app.state.sessionmaker) as session:
            if projects.has_users(session):
                project_id = 1
                key = projects.create_key(session, email=None, scopes=["*"], project_ids=[]).key
            else:
                init = projects.initialise(session)
                project_id, key = init.project_id, init.personal_api_key
        headers = {"Authorization": f"Bearer {key}"}
        api = f"/api/projects/{project_id}/cohorts/"
        store: AnalyticsStore = app.state.store
        [(loaded,)] = store.query(CompiledQuery("SELECT count(*) FROM events", {}))
        if loaded < args.events:
            began = time.perf_counter()
            load(store, project_id, args.persons, args.events, datetime.now(UTC))
            took = time.perf_counter() - began
            print(f"loaded {args.persons:,} persons and {args.events:,} events in {took:.1f} s")

        [(newest,)] = store.query(CompiledQuery("SELECT max(timestamp) FROM events", {}))
        since = newest - timedelta(days=30)
        country = {"type": "person", "key": "country", "operator": "exact", "value": ["GB", "US"]}
        inner = client.post(
            api,
            headers=headers,
            json={"name": "GB+US", "filters": {"properties": {"type": "AND", "values": [country]}}},
        ).json()
        inner = wait_calculated(client, f"{api}{inner['id']}/", headers)
        conditions = [
            {"type": "person", "key": "plan", "operator": "exact", "value": "pro"},
            {
                "type": "behavioral",
                "key": "$pageview",
                "value": "performed_event_multiple",
                "event_type": "events",
                "operator": "gte",
                "operator_value": 3,
                # An absolute start (30 days before the newest event), so the hand-written query
                # can use the very same bound and the two answers can be compared exactly.
                "explicit_datetime": since.isoformat(),
            },
            {"type": "cohort", "key": "id", "value": inner["id"]},
        ]
        filters = {"properties": {"type": "AND", "values": conditions}}
        outer = client.post(api, headers=headers, json={"name": "Bench", "filters": filters}).json()
        wait_calculated(client, f"{api}{outer['id']}/", headers)

        params = {
            "project": project_id,
            "inner": inner["id"],
            "version": inner["version"],
            "since": since,
        }
        end_to_end: list[float] = []
        hand: list[float] = []
        for run in range(args.runs):
            # Only a criteria change recalculates: alternate two spellings of the same condition.
            conditions[0]["value"] = ["pro"] if run % 2 == 0 else "pro"
            started = time.perf_counter()
            client.patch(f"{api}{outer['id']}/", headers=headers, json={"filters": filters})
            body = wait_calculated(client, f"{api}{outer['id']}/", headers)
            end_to_end.append(time.perf_counter() - started)
            assert body["pending_version"] == body["version"] == run + 2, body
            started = time.perf_counter()
            [(expected,)] = store.query(CompiledQuery(HAND_WRITTEN, params))
            hand.append(time.perf_counter() - started)
            assert body["count"] == expected, (body["count"], expected)
        e2e, bare = statistics.median(end_to_end), statistics.median(hand)
        runs = client.get(f"{api}{outer['id']}/calculation_history/", headers=headers).json()["results"]
        engine = statistics.median(r["total_query_ms"] for r in runs[: args.runs])
        print(f"members: {body['count']:,} (hand-written query agrees)")
        print(f"end to end, PATCH -> is_calculating false (median of {args.runs}): {e2e * 1000:.0f} ms")
        print(f"  of which the members query and swap (calculation history):  {engine:.0f} ms")
        print(f"hand-written query on the bare engine (median of {args.runs}):      {bare * 1000:.0f} ms")
        print(f"ratio: {e2e / bare:.2f}")


if __name__ == "__main__":
    main()
