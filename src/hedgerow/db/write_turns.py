"""Turns at writing the metadata store, for writers that commit often (the ingestion path).

SQLite has one writer at a time, and a writer that finds the database locked waits in SQLite's
busy handler, which sleeps in growing steps (up to 100 ms) rather than waking when the lock is
free: capture requests waiting behind the applier's commit would sit idle long after it ended.
So every ingestion-path write takes a turn first: a thread lock within the process and, on
SQLite, an exclusive `flock` on a file beside the database across processes (the server and
its applier process). Both hand over the moment the holder lets go. On PostgreSQL only the
thread lock is taken: row locks and MVCC already let writers proceed side by side.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session, sessionmaker

from hedgerow.db.session import engine_of, sqlite_file

try:
    import fcntl
except ImportError:  # not POSIX: SQLite's own locking still keeps writes correct
    fcntl = None  # type: ignore[assignment]


class WriteTurns:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, int | None] = {}
        self._files_lock = threading.Lock()
        self._by_engine: weakref.WeakKeyDictionary[Engine, int | None] = weakref.WeakKeyDictionary()
        # Per engine, the driver connection `write_now` writes through (used under `_lock`).
        self._own: weakref.WeakKeyDictionary[Engine, Any] = weakref.WeakKeyDictionary()

    def _descriptor(self, factory: sessionmaker[Session] | Engine) -> int | None:
        bind = factory if isinstance(factory, Engine) else engine_of(factory)
        try:
            return self._by_engine[bind]
        except KeyError:
            pass
        database = sqlite_file(bind.url)
        descriptor = None
        if fcntl is not None and database is not None:
            with self._files_lock:
                if database not in self._files:
                    path = f"{database}.ingest-lock"
                    self._files[database] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                descriptor = self._files[database]
        self._by_engine[bind] = descriptor
        return descriptor

    @contextmanager
    def __call__(self, factory: sessionmaker[Session] | Engine) -> Iterator[None]:
        descriptor = self._descriptor(factory)
        with self._lock:
            if descriptor is None:
                yield
                return
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)

    @contextmanager
    def transaction(self, engine: Engine) -> Iterator[Connection]:
        """A Core transaction (not an ORM session: this runs for every group of capture
        requests) within a turn."""
        with self(engine), engine.begin() as connection:
            yield connection

    def write_now(self, engine: Engine, write: Callable[[Any], None]) -> bool:
        """Run `write(driver_connection)` and commit, within a turn, if that needs no waiting at
        all; True once committed, False with nothing written (the caller then waits for a
        turn). For a caller that must not block (the event loop). Only where turns are lock
        files (SQLite): a server round trip would block as well. And only with the turn free
        this instant, on a driver connection kept for this alone with SQLite's busy handler
        off, since other writers (API edits, imports) take no turns: their lock fails it at once.
        Taking a pooled connection and a SQLAlchemy transaction for this cost about three times
        the write itself (~260 against ~80 us for a capture request's row)."""
        descriptor = self._descriptor(engine)
        if descriptor is None or not self._lock.acquire(False):
            return False
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            try:
                return self._write_now(engine, write)
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def _write_now(self, engine: Engine, write: Callable[[Any], None]) -> bool:
        connection = self._own.get(engine)
        if connection is None:
            connection = self._own[engine] = self._own_connection(engine)
        try:
            write(connection)
            connection.commit()
        except engine.dialect.loaded_dbapi.Error:
            # Locked by a writer without turns, or anything the waiting path will raise for.
            connection.rollback()
            return False
        except BaseException:
            connection.rollback()
            raise
        return True

    def _own_connection(self, engine: Engine) -> Any:
        """A driver connection of the engine's, set up as its pool's are, kept out of the pool
        and closed when the pool is."""
        pooled = engine.raw_connection()
        connection: Any = pooled.driver_connection
        pooled.detach()
        connection.execute("PRAGMA busy_timeout=0")

        def disposed(disposed_engine: Engine) -> None:
            with self._lock:
                if self._own.get(disposed_engine) is connection:
                    del self._own[disposed_engine]
            connection.close()

        event.listen(engine, "engine_disposed", disposed)
        return connection


# Shared by every such writer of this process.
WRITE_TURN = WriteTurns()
