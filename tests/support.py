"""Test helpers: an HTTP client bound to a fresh Hedgerow app, and ways to mint keys."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from hedgerow.app import create_app
from hedgerow.db.session import transaction
from hedgerow.domain.projects import service as projects
from hedgerow.domain.projects.schemas import InitResult, ProjectRef
from hedgerow.settings import Settings


class HedgerowClient:
    """A TestClient plus the default project and an all-scopes personal API key."""

    def __init__(self, client: TestClient, init: InitResult):
        self.http = client
        self.app = client.app
        self.init = init
        self.project_id = init.project_id
        self.key = init.personal_api_key

    @classmethod
    @contextmanager
    def start(cls, settings: Settings | None = None) -> Iterator[HedgerowClient]:
        app = create_app(settings or Settings())
        with TestClient(app, raise_server_exceptions=False) as client:
            with transaction(app.state.sessionmaker) as session:
                init = projects.initialise(session)
            yield cls(client, init)

    # --- keys and projects -------------------------------------------------------------------
    def issue_key(
        self, scopes: list[str], *, projects_ids: list[int] | None = None, email: str | None = None
    ) -> str:
        with transaction(self.app.state.sessionmaker) as session:
            return projects.create_key(
                session, email=email, scopes=scopes, project_ids=projects_ids or []
            ).key

    def create_project(self, name: str = "Other") -> ProjectRef:
        with transaction(self.app.state.sessionmaker) as session:
            return projects.create_project(session, name=name)

    # --- HTTP ----------------------------------------------------------------------------------
    def request(
        self, method: str, path: str, *, key: str | None = None, auth: bool = True, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if auth:
            headers.setdefault("Authorization", f"Bearer {key or self.key}")
        return self.http.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def api(self, resource: str, project_id: int | str | None = None) -> str:
        """`/api/projects/<id>/<resource>/`."""
        return f"/api/projects/{project_id if project_id is not None else self.project_id}/{resource}/"


def assert_error(
    response: httpx.Response,
    status: int,
    *,
    type: str,
    code: str,
    detail: str | None = None,
    attr: str | None = None,
) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"type", "code", "detail", "attr"}, body
    assert body["type"] == type and body["code"] == code, body
    if detail is not None:
        assert body["detail"] == detail, body
    assert body["attr"] == attr, body


def app_environment(monkeypatch: pytest.MonkeyPatch, database_url: str, data_dir: Path) -> None:
    """The settings every in-process app of a test starts with."""
    monkeypatch.setenv("HEDGEROW_DATA_DIR", str(data_dir))
    monkeypatch.setenv("HEDGEROW_DATABASE_URL", database_url)
    monkeypatch.delenv("HEDGEROW_ANALYTICS_URL", raising=False)
    # Jobs stay queued unless a test runs them (tests/integration/test_worker*.py start workers).
    monkeypatch.setenv("HEDGEROW_EMBEDDED_WORKERS", "0")
    # In-process tests apply captures in the server's thread: a process per test costs seconds.
    # Real `hedgerow serve` processes (tests/e2e, tests/cli) run the applier process.
    monkeypatch.setenv("HEDGEROW_INGESTION_APPLIER", "thread")


def hedgerow_cli(env: dict[str, str], *args: str) -> Any:
    """Run `hedgerow <args>` as a user would, in a process of its own; its JSON output."""
    done = subprocess.run(
        [sys.executable, "-m", "hedgerow", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
