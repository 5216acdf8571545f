"""Copying SQLite's write-ahead log back into the database, off the writers' path.

By default SQLite checkpoints inside the commit that grows the log past 1,000 pages, so one
capture request in a few dozen paid for copying megabytes (and the disk flush after), while
holding the ingestion write turn that every other writer waits for. The server instead turns
that off (`make_engine(..., checkpoints=False)`) and runs this thread: a passive checkpoint
every fraction of a second, which copies what it can beside the writers and never waits on
them. The log is restarted from its beginning by the next writer once a checkpoint caught up.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine, text

from hedgerow.db.session import sqlite_file
from hedgerow.threads import run_in_background

log = logging.getLogger("hedgerow.db")
INTERVAL_SECONDS = 0.25


class Checkpointer:
    def __init__(self, engine: Engine, *, interval: float = INTERVAL_SECONDS):
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def wanted(url: str) -> bool:
        """Whether a database at `url` needs this: a SQLite file."""
        return sqlite_file(url) is not None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hedgerow-checkpoints", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.checkpoint()  # leave the log short for the next start

    def checkpoint(self) -> None:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("PRAGMA wal_checkpoint(PASSIVE)")).all()
        except Exception:  # the next round tries again; writers are unaffected meanwhile
            log.warning("checkpoint of the metadata store failed", exc_info=True)

    def _run(self) -> None:
        run_in_background()
        while not self._stop.wait(self.interval):
            self.checkpoint()
