"""The CLI exactly as the README shows it, against a real `hedgerow serve` process over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import hedgerow_cli

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEROW_")}
    values["HEDGEROW_DATA_DIR"] = str(tmp_path / "data")
    if database_url.startswith("postgresql"):
        values["HEDGEROW_DATABASE_URL"] = database_url
    return values


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hedgerow", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/_health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    else:
        proc.kill()
        pytest.fail("hedgerow serve did not become healthy")
    yield base, proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_serve_prints_the_first_key_once_and_it_works(server: tuple[str, subprocess.Popen[str]]) -> None:
    _, proc = server
    proc.terminate()
    out, _ = proc.communicate(timeout=20)
    assert "personal API key:" in out
    key = out.split("personal API key:", 1)[1].split()[0]
    assert key.startswith("phx_")


def test_readme_walkthrough(env: dict[str, str], server: tuple[str, subprocess.Popen[str]]) -> None:
    base, _ = server
    # Run while the server holds the data dir: these touch only the metadata store.
    init = hedgerow_cli(env, "init", "--json")
    assert isinstance(init, dict)
    assert set(init) == {
        "organization_id",
        "project_id",
        "project_api_token",
        "personal_api_key",
        "user_email",
    }
    assert str(init["project_api_token"]).startswith("phc_")
    again = hedgerow_cli(env, "init", "--json")
    assert isinstance(again, dict)
    assert again["project_id"] == init["project_id"] and again["personal_api_key"] != init["personal_api_key"]

    key = str(init["personal_api_key"])
    project = init["project_id"]
    headers = {"Authorization": f"Bearer {key}"}
    created = httpx.post(
        f"{base}/api/projects/{project}/dashboard_templates/",
        headers=headers,
        json={"template_name": "Weekly review", "tiles": [{"type": "TEXT", "body": "Hello"}]},
    )
    assert created.status_code == 201, created.text
    listed = httpx.get(f"{base}/api/projects/{project}/dashboard_templates/", headers=headers).json()
    assert "Weekly review" in [t["template_name"] for t in listed["results"]]

    scoped = hedgerow_cli(
        env, "keys", "create", "--scopes", "dashboard_template:read", "--label", "ci", "--json"
    )
    assert isinstance(scoped, dict)
    assert set(scoped) == {"id", "key", "scopes", "scoped_teams"}
    assert scoped["scopes"] == ["dashboard_template:read"] and scoped["scoped_teams"] == []
    read_only = {"Authorization": f"Bearer {scoped['key']}"}
    assert (
        httpx.get(f"{base}/api/projects/{project}/dashboard_templates/", headers=read_only).status_code == 200
    )
    refused = httpx.post(f"{base}/api/projects/{project}/dashboard_templates/", headers=read_only, json={})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "API key missing required scope 'dashboard_template:write'"

    second = hedgerow_cli(env, "projects", "create", "--name", "Mobile app", "--json")
    assert isinstance(second, dict) and set(second) == {"id", "api_token"}
    limited = hedgerow_cli(env, "keys", "create", "--projects", str(second["id"]), "--json")
    assert isinstance(limited, dict) and limited["scoped_teams"] == [second["id"]]
    listing = hedgerow_cli(env, "projects", "list", "--json")
    assert isinstance(listing, list)
    assert [p["id"] for p in listing] == [project, second["id"]]  # type: ignore[index]


def test_invalid_configuration_is_refused_clearly(env: dict[str, str]) -> None:
    env = env | {"HEDGEROW_DATABASE_URL": "mysql://nope"}
    done = subprocess.run(
        [sys.executable, "-m", "hedgerow", "migrate"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "HEDGEROW_DATABASE_URL must start with one of" in done.stderr
    assert "Traceback" not in done.stderr
