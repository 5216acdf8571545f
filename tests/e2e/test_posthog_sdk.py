"""The official posthog Python SDK against a real `hedgerow serve`: capture, set, set_once, alias."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from posthog import Posthog

from tests.e2e.server import Server, first_run_credentials, start_server

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    running = start_server(data_dir)
    try:
        yield running
    finally:
        running.stop()


def _get(server: Server, key: str, path: str, **params: Any) -> Any:
    # Generous: a read waits until every accepted event is applied, slow on a busy machine.
    response = httpx.get(
        f"{server.url}{path}", params=params, headers={"Authorization": f"Bearer {key}"}, timeout=60
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("gzip", [False, True])
def test_sdk_capture_set_set_once_alias(server: Server, gzip: bool) -> None:
    token, key, project_id = first_run_credentials(server)
    errors: list[Any] = []
    client = Posthog(token, host=server.url, gzip=gzip, on_error=lambda e, batch: errors.append(e))
    client.capture("signed_up", distinct_id="user-1", properties={"plan": "free"})
    client.set(distinct_id="user-1", properties={"email": "user@example.com", "plan": "pro"})
    client.set_once(distinct_id="user-1", properties={"first_seen": "2026-01-01", "plan": "ignored"})
    client.capture("pageview", distinct_id="device-9", properties={"$set": {"device": "phone"}})
    client.alias(previous_id="user-1", distinct_id="device-9")
    client.capture("purchase", distinct_id="device-9", properties={"amount": 5})
    client.flush()
    client.shutdown()
    assert errors == []

    people = _get(server, key, f"/api/projects/{project_id}/persons/")["results"]
    assert len(people) == 1
    [person] = people
    assert sorted(person["distinct_ids"]) == ["device-9", "user-1"]
    assert person["is_identified"] is True
    assert person["name"] == "user@example.com"
    props = person["properties"]
    assert props["email"] == "user@example.com"
    assert props["plan"] == "pro"
    assert props["first_seen"] == "2026-01-01"
    assert props["device"] == "phone"

    events = _get(server, key, f"/api/projects/{project_id}/events/")["results"]
    names = sorted(e["event"] for e in events)
    assert names == sorted(["signed_up", "$set", "$set_once", "pageview", "$create_alias", "purchase"])
    assert all(e["properties"]["$lib"] == "posthog-python" for e in events)
    by_person = _get(server, key, f"/api/projects/{project_id}/events/", person_id=person["uuid"])["results"]
    assert len(by_person) == len(events)
