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
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hedgerow.db.session import engine_of

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
        if fcntl is None or bind.url.get_backend_name() != "sqlite":
            return None
        database = bind.url.database
        if not database or database == ":memory:":
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
    def attempt(self, factory: sessionmaker[Session] | Engine) -> Iterator[bool]:
        """The turn if it is free this instant (True), else nothing taken (False): for a caller
        that has something better to do than wait."""
        descriptor = self._descriptor(factory)
        if not self._lock.acquire(blocking=False):
            yield False
            return
        try:
            if descriptor is None:
                yield True
                return
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            self._lock.release()


# Shared by every such writer of this process.
WRITE_TURN = WriteTurns()
