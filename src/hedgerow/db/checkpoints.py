"""Copying SQLite's write-ahead log back into the database, off the writers' path.

By default SQLite checkpoints inside the commit that grows the log past 1,000 pages, so one
capture request in a few dozen paid for copying megabytes (and the disk flush after), while
holding the ingestion write turn that every other writer waits for. The server instead turns
that off (`make_engine(..., checkpoints=False)`) and runs this thread: a passive checkpoint
every fraction of a second, which copies what it can beside the writers and never waits on
them. The log is restarted from its beginning by the next writer once a checkpoint caught up.

Under sustained load that moment may never come: the log restarts only when, besides being
copied back, no reader is still using it, and with readers and writers always at work the file
grew without end (710 MB after 600,000 benchmark events). So once the log holds more than
`wal_limit`, the thread also restarts it itself: right after a passive round, holding the
ingestion write turn (so ingestion's writers wait on the turn, which hands over at once, rather
than sleeping in SQLite's busy handler), it asks for a restarting checkpoint, waiting at most
`RESTART_WAIT_MS` for readers to leave the log; if they do not, it tries again next round.
The next writer then writes the log from its start again, over the old frames. The file keeps
its size (about `wal_limit` and one round's growth), so that the turn is not held while the
file system frees it: right after a passive round had copied everything, truncating took
130-200 ms and restarting 0.1 ms. Under bench/ingest.py's load a restart still holds the turn
about 110 ms (copying and flushing what was written since the passive round), against about
190 ms, up to 490, for truncating. Stopping truncates it.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine, text

from hedgerow.db.session import busy_timeout, sqlite_file
from hedgerow.db.write_turns import WRITE_TURN
from hedgerow.threads import run_in_background

log = logging.getLogger("hedgerow.db")
INTERVAL_SECONDS = 0.25
WAL_LIMIT_BYTES = 64 * 1024 * 1024
RESTART_WAIT_MS = 20


class Checkpointer:
    def __init__(
        self, engine: Engine, *, interval: float = INTERVAL_SECONDS, wal_limit: int = WAL_LIMIT_BYTES
    ):
        self.engine = engine
        self.interval = interval
        self.wal_limit = wal_limit
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
        try:  # leave the log short for the next start
            self.restart(truncate=True)
        except Exception:
            log.warning("truncating the metadata store's log failed", exc_info=True)

    def checkpoint(self) -> None:
        try:
            with self.engine.connect() as connection:
                _, frames, _ = connection.execute(text("PRAGMA wal_checkpoint(PASSIVE)")).one()
                page_size = connection.exec_driver_sql("PRAGMA page_size").scalar_one()
            if frames * page_size > self.wal_limit:
                self.restart()
        except Exception:  # the next round tries again; writers are unaffected meanwhile
            log.warning("checkpoint of the metadata store failed", exc_info=True)

    def restart(self, *, truncate: bool = False) -> bool:
        """Copy the rest of the log back and have the next writer start it over (and with
        `truncate`, empty the file), if its readers leave it within RESTART_WAIT_MS; True if
        it was restarted."""
        mode = "TRUNCATE" if truncate else "RESTART"
        with (
            WRITE_TURN(self.engine),
            self.engine.connect() as connection,
            busy_timeout(connection, RESTART_WAIT_MS),
        ):
            busy, _, _ = connection.execute(text(f"PRAGMA wal_checkpoint({mode})")).one()
        return not busy

    def _run(self) -> None:
        run_in_background()
        while not self._stop.wait(self.interval):
            self.checkpoint()
