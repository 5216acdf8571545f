"""Settings are validated at start with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from hedgerow.settings import Settings


def test_defaults_live_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.database_url == f"sqlite:///{(tmp_path / 'hedgerow.sqlite3').resolve()}"
    assert settings.analytics_url == f"duckdb:///{(tmp_path / 'events.duckdb').resolve()}"


def test_plain_postgresql_url_uses_psycopg(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql://u:p@h:5432/db")
    assert settings.database_url == "postgresql+psycopg://u:p@h:5432/db"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("database_url", "mysql://x", "HEDGEROW_DATABASE_URL must start with one of"),
        ("analytics_url", "bigquery://x", "HEDGEROW_ANALYTICS_URL must start with one of"),
        ("log_level", "LOUD", "HEDGEROW_LOG_LEVEL must be one of"),
    ],
)
def test_invalid_settings_are_refused(tmp_path: Path, field: str, value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(data_dir=tmp_path, **{field: value})


def test_every_setting_is_documented() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no description"
