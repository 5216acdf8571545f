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
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from hedgerow.db.session import busy_timeout, engine_of, sqlite_file

try:
    import fcntl
except ImportError:  # not POSIX: SQLite's own locking still keeps writes correct
    fcntl = None  # type: ignore[assignment]


class WriteTurns:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, int | None] = {}
        self._files_lock = threading.Lock()

    def _descriptor(self, factory: sessionmaker[Session] | Engine) -> int | None:
        bind = factory if isinstance(factory, Engine) else engine_of(factory)
        database = sqlite_file(bind.url)
        if fcntl is None or database is None:
            return None
        with self._files_lock:
            if database not in self._files:
                path = f"{database}.ingest-lock"
                self._files[database] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            return self._files[database]

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

    @contextmanager
    def transaction_now(self, engine: Engine) -> Iterator[Connection | None]:
        """A transaction within a turn if that needs no waiting at all, else None: for a caller
        that must not block (the event loop). Only where turns are lock files (SQLite): a
        server round trip would block as well. And only with an idle pooled connection, the
        turn free this instant, and SQLite's busy handler off for the transaction, since other
        writers (API edits, imports) take no turns: their lock fails it at once."""
        descriptor = self._descriptor(engine)
        idle = getattr(engine.pool, "checkedin", None)
        with ExitStack() as held:  # let go in reverse order, whichever step stops it
            if descriptor is None or (idle is not None and idle() == 0) or not self._lock.acquire(False):
                yield None
                return
            held.callback(self._lock.release)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield None
                return
            held.callback(fcntl.flock, descriptor, fcntl.LOCK_UN)
            connection = held.enter_context(engine.connect())
            held.enter_context(busy_timeout(connection, 0))
            with connection.begin():
                yield connection


# Shared by every such writer of this process.
WRITE_TURN = WriteTurns()
