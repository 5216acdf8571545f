"""Open the analytics store an URL names, with its schema in place."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from hedgerow.store.base import AnalyticsStore


def duckdb_path(analytics_url: str) -> Path:
    """The file a `duckdb://` URL names, read the way SQLAlchemy reads `sqlite://` URLs.

    `duckdb:////abs/events.duckdb` is absolute and `duckdb:///rel/events.duckdb` relative to the
    working directory, exactly like HEDGEROW_DATABASE_URL's `sqlite:///` form, so both settings
    read the same way; `duckdb://rel/events.duckdb` is accepted as relative too.
    """
    rest = unquote(analytics_url.split("://", 1)[1])
    path = rest[1:] if rest.startswith("/") else rest
    if not path:
        raise ValueError(f"duckdb URL without a file path: {analytics_url!r}")
    return Path(path)


def open_store(analytics_url: str) -> AnalyticsStore:
    """The store for `duckdb:///path` or `clickhouse[s]://user:pass@host:port/db`, migrated."""
    scheme = urlsplit(analytics_url).scheme
    store: AnalyticsStore
    if scheme == "duckdb":
        from hedgerow.store.duckdb import DuckDBStore

        path = duckdb_path(analytics_url)
        path.parent.mkdir(parents=True, exist_ok=True)
        store = DuckDBStore(path)
    elif scheme in ("clickhouse", "clickhouses"):
        from hedgerow.store.clickhouse import ClickHouseStore

        store = ClickHouseStore.connect(analytics_url)
    else:
        raise ValueError(f"unsupported analytics store URL: {analytics_url!r}")
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store
