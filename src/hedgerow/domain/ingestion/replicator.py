"""The replicator: a background thread that applies queued capture batches to persons and copies
them, and the outbox, into the analytics store.

It wakes when a batch is accepted (or every `idle_seconds`), and readers that must see every
accepted event or person call `drain()` to empty the queue and the outbox synchronously first.
On start it replays whatever an earlier process left behind.
"""

from __future__ import annotations

import gc
import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from hedgerow.domain.ingestion.outbox import WrittenEntry, copy_written, drain_once
from hedgerow.domain.ingestion.service import apply_queued
from hedgerow.store.base import AnalyticsStore

log = logging.getLogger("hedgerow.ingestion")
_GC_THRESHOLD = 50_000


class Replicator:
    def __init__(
        self,
        factory: sessionmaker[Session],
        store: AnalyticsStore,
        *,
        idle_seconds: float = 1.0,
        max_entries: int = 200,
        max_batches: int = 100,
    ):
        self.factory = factory
        self.store = store
        self.idle_seconds = idle_seconds
        self.max_entries = max_entries
        # Queued capture batches applied per transaction: large groups amortise the person
        # lookups and the analytics store's write over many requests.
        self.max_batches = max_batches
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one copy at a time per process: no self-inflicted duplicates
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # Ingestion allocates a few dozen containers per event; at the default threshold (700)
        # the collector runs every few events and keeps walking the long-lived person cache,
        # which cost more than decoding the events. Collections stay, only less often.
        gc.set_threshold(max(gc.get_threshold()[0], _GC_THRESHOLD), 20, 20)
        self._thread = threading.Thread(target=self._run, name="hedgerow-replicator", daemon=True)
        self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        try:
            self.drain()
        except Exception:  # the outbox keeps the rows; the next start replays them
            log.exception("final outbox drain failed; the next start will replay it")

    def notify(self) -> None:
        self._wake.set()

    def drain(self) -> int:
        """Empty the queue and the outbox now; returns the number of batches and entries moved."""
        moved = 0
        with self._lock:
            while True:
                # Each applied group goes to the store before the next: capture requests commit
                # while the store writes, and readers never wait for the whole queue twice.
                written: list[WrittenEntry] = []
                applied = apply_queued(self.factory, max_batches=self.max_batches, written=written)
                moved += applied
                copy_written(self.factory, self.store, written)
                moved += len(written)
                while True:
                    step = drain_once(self.factory, self.store, max_entries=self.max_entries)
                    moved += step
                    if step < self.max_entries:
                        break
                if applied < self.max_batches:
                    return moved

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.idle_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.drain()
            except Exception:  # keep the thread alive; the rows stay in the outbox for the next try
                log.exception("replicating the ingestion outbox failed; will retry")
                self._stop.wait(self.idle_seconds)
