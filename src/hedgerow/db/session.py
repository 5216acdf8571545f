"""Engine and session factory for the metadata store (SQLite with WAL, or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # Some builds of SQLite (Debian's among them) overwrite every freed page with zeros. Deleting
    # the ingestion queue's copied batches, some 22 KB each, then wrote each batch's pages into the
    # log a second time (45 MB for 2,000 batches, 185 ms holding the write turn, against 28 ms).
    # FAST still zeroes what is deleted from table and index pages, which it writes anyway; only
    # freed overflow pages (the part of a row beyond what fits in its page) keep their bytes
    # until they are reused.
    cursor.execute("PRAGMA secure_delete=FAST")
    cursor.close()


def _page_cache(dbapi_connection: Any, _record: Any, *, kib: int) -> None:
    dbapi_connection.execute(f"PRAGMA cache_size=-{int(kib)}")


def _no_checkpoints(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


def sqlite_file(url: str | URL) -> str | None:
    """The database file behind a SQLite address; None for any other database or in memory."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return database


def make_engine(url: str, *, checkpoints: bool = True, cache_mib: int | None = None) -> Engine:
    """An engine for `url`. On SQLite, `checkpoints=False` keeps commits from copying the
    write-ahead log back into the database: the server's checkpoint thread does that
    (`db/checkpoints.py`), so no commit on the ingestion path waits on the disk. `cache_mib`
    sets each connection's page cache (SQLite's default is 2 MiB), for a process that reads and
    rewrites the same tables over and over."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        if not checkpoints:
            event.listen(engine, "connect", _no_checkpoints)
        if cache_mib is not None:
            event.listen(engine, "connect", partial(_page_cache, kib=cache_mib * 1024))
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@contextmanager
def busy_timeout(connection: Connection, milliseconds: int) -> Iterator[None]:
    """SQLite waits at most `milliseconds` for another writer's lock on `connection` meanwhile;
    then the usual timeout again (or the connection is discarded, never pooled with the short
    one)."""
    raw = connection.connection.dbapi_connection
    assert raw is not None
    raw.execute(f"PRAGMA busy_timeout={milliseconds}")
    try:
        yield
    finally:
        try:
            raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        except Exception:
            connection.invalidate()
            raise


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def engine_of(factory: sessionmaker[Session]) -> Engine:
    """The engine a session factory made by `make_sessionmaker` is bound to."""
    bind = factory.kw["bind"]
    if not isinstance(bind, Engine):
        raise TypeError("the session factory is not bound to an engine")
    return bind


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session
