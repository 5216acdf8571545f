"""Fixtures shared by every suite.

The metadata store is SQLite unless HEDGEROW_TEST_DATABASE_URL names a PostgreSQL server
(scripts/test starts a throwaway one). Migrations run once per session into a template that
each test copies, so every test starts from an empty, fully migrated store.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hedgerow.db.migrate import upgrade
from hedgerow.db.session import make_engine, make_sessionmaker, transaction
from hedgerow.domain.dashboard_templates.service import ensure_global_templates
from tests.support import HedgerowClient, app_environment

PG_URL = os.environ.get("HEDGEROW_TEST_DATABASE_URL", "")


def _seed(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as session:
        ensure_global_templates(session)
    engine.dispose()


@pytest.fixture(scope="session")
def _template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if PG_URL:
        name = f"hr_template_{os.getpid()}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        _seed(url)
        yield name
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "hedgerow.sqlite3"
        _seed(f"sqlite:///{path}")
        yield str(path)


@pytest.fixture
def database_url(_template_database: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated metadata store for one test."""
    if PG_URL:
        name = f"hr_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{_template_database}"'))
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        target = tmp_path / "hedgerow.sqlite3"
        shutil.copyfile(_template_database, target)
        yield f"sqlite:///{target}"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def hedgerow(database_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HedgerowClient]:
    """The app over HTTP (in-process ASGI), initialised, with an all-scopes key for project 1."""
    app_environment(monkeypatch, database_url, data_dir)
    with HedgerowClient.start() as client:
        yield client


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass, run only tests that touch the metadata store; the rest ran on SQLite."""
    if not PG_URL:
        return
    keep = [item for item in items if "database_url" in getattr(item, "fixturenames", ())]
    dropped = [item for item in items if item not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
