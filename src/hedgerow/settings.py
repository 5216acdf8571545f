"""Settings, read from the environment (prefix ``HEDGEROW_``) and validated at start.

Every setting has a description; ``hedgerow serve --help`` and the README list them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SUPPORTED_DATABASE_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")
SUPPORTED_ANALYTICS_SCHEMES = ("duckdb", "clickhouse", "clickhouses")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEDGEROW_", extra="ignore")

    data_dir: Path = Field(
        default=Path("./hedgerow-data"),
        description="Directory holding the embedded stores (SQLite metadata, DuckDB events).",
    )
    database_url: str = Field(
        default="",
        description=(
            "Metadata store URL. Default: sqlite:///<data dir>/hedgerow.sqlite3. "
            "PostgreSQL: postgresql+psycopg://user:pass@host:5432/db."
        ),
    )
    analytics_url: str = Field(
        default="",
        description=(
            "Analytics store URL. Default: duckdb:///<data dir>/events.duckdb. "
            "ClickHouse: clickhouse://user:pass@host:8123/db."
        ),
    )
    log_level: str = Field(default="WARNING", description="Log level: DEBUG, INFO, WARNING or ERROR.")
    embedded_workers: int = Field(
        default=1, ge=0, description="Background worker threads inside `hedgerow serve` (0 = none)."
    )
    ingestion_applier: Literal["process", "thread"] = Field(
        default="process",
        description="Where `hedgerow serve` applies captured events to persons: a process of its own"
        " (another core) or a thread of the server.",
    )
    job_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a job stays leased without a heartbeat before another worker may retry it.",
    )
    job_retry_base_seconds: float = Field(
        default=1800.0,
        ge=0,
        description="Back-off before retrying a failed job: this many seconds times 2^(attempts - 1).",
    )
    job_max_attempts: int = Field(
        default=20,
        ge=1,
        description="Attempts after which a failing job is given up (its cohort is released).",
    )
    worker_poll_seconds: float = Field(
        default=0.2, gt=0, description="Seconds between an idle worker's looks for new jobs."
    )
    cohort_recalculate_minutes: float = Field(
        default=15.0,
        gt=0,
        description="Dynamic cohorts last calculated longer ago than this are recalculated periodically.",
    )
    cohort_error_backoff_minutes: float = Field(
        default=30.0,
        ge=0,
        description="Periodic recalculation of a failing cohort waits this many minutes times 2^errors.",
    )
    cohort_max_errors: int = Field(
        default=20, ge=0, description="Cohorts with more consecutive calculation errors are not recalculated."
    )
    scheduler_interval_seconds: float = Field(
        default=60.0, gt=0, description="How often the scheduler looks for cohorts due for recalculation."
    )
    scheduler_batch_size: int = Field(
        default=5, ge=1, description="At most this many cohort recalculations are queued per scheduler run."
    )
    cohort_calculation_timeout_seconds: float = Field(
        default=600.0,
        ge=0,
        description="A cohort calculation query running longer than this is stopped and recorded as a"
        " `timeout` error (0: no limit).",
    )
    cohort_stuck_minutes: float = Field(
        default=60.0,
        gt=0,
        description="A cohort calculating for longer than this with no live job is released and retried.",
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("HEDGEROW_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'hedgerow.sqlite3').resolve()}"
        if not self.analytics_url:
            self.analytics_url = f"duckdb:///{(self.data_dir / 'events.duckdb').resolve()}"
        db_scheme = self.database_url.split("://", 1)[0]
        if "://" not in self.database_url or db_scheme not in SUPPORTED_DATABASE_SCHEMES:
            raise ValueError(
                f"HEDGEROW_DATABASE_URL must start with one of "
                f"{', '.join(s + '://' for s in SUPPORTED_DATABASE_SCHEMES)}; got {self.database_url!r}"
            )
        if db_scheme == "postgresql":
            self.database_url = "postgresql+psycopg://" + self.database_url.split("://", 1)[1]
        an_scheme = self.analytics_url.split("://", 1)[0]
        if "://" not in self.analytics_url or an_scheme not in SUPPORTED_ANALYTICS_SCHEMES:
            raise ValueError(
                f"HEDGEROW_ANALYTICS_URL must start with one of "
                f"{', '.join(s + '://' for s in SUPPORTED_ANALYTICS_SCHEMES)}; got {self.analytics_url!r}"
            )
        return self

    def ensure_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
