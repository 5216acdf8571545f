"""The replicator: a background thread that copies the outbox into the analytics store, and
applies queued capture batches to persons unless an applier process does (`applier.py`).

It wakes when a batch is accepted (or every `idle_seconds`), and readers that must see every
accepted event or person call `drain()`, which returns once every batch accepted before it was
called is applied and copied. On start it replays whatever an earlier process left behind.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from hedgerow.domain.ingestion.outbox import WrittenEntry, copy_written, drain_once
from hedgerow.domain.ingestion.queue import ClaimConflict, newest_queued, oldest_queued
from hedgerow.domain.ingestion.service import GC_THRESHOLD, apply_queued
from hedgerow.store.base import AnalyticsStore
from hedgerow.threads import run_in_background

log = logging.getLogger("hedgerow.ingestion")
# While an applier process works, the outbox is copied this often, whatever wakes the thread: a
# copy costs the analytics store about 10 ms whatever its size (the commit, and the check for
# already stored events), so 150 events copied at a time cost ten times more per event than
# 1,500. Readers that must see every event copy at once (`drain`) and do not wait for this.
COPY_INTERVAL_SECONDS = 0.2
# And never more often than this many times the last copy took: a copy's duplicate check grows
# with the events stored in the last day or two, and this keeps it to a fifth of the time.
COPY_SPACING = 4
# A reader waiting on the applier process applies by itself once the queue's head has not moved
# for this long.
STALL_SECONDS = 10.0


class _Progress:
    """Whether the queue's oldest batch has stayed the same for STALL_SECONDS."""

    def __init__(self) -> None:
        self._head: int | None = None
        self._since = time.monotonic()

    def stalled(self, head: int | None) -> bool:
        now = time.monotonic()
        if head != self._head:
            self._head, self._since = head, now
            return False
        return now - self._since > STALL_SECONDS


class Replicator:
    def __init__(
        self,
        factory: sessionmaker[Session],
        store: AnalyticsStore,
        *,
        idle_seconds: float = 1.0,
        max_entries: int = 200,
        max_batches: int = 100,
        external_applier: Callable[[], bool] | None = None,
    ):
        self.factory = factory
        self.store = store
        self.idle_seconds = idle_seconds
        self.max_entries = max_entries
        # Queued capture batches applied per transaction: large groups amortise the person
        # lookups and the analytics store's write over many requests.
        self.max_batches = max_batches
        # Whether an applier process is running (it applies the queue; this thread only copies).
        self.external_applier = external_applier
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one copy at a time per process: no self-inflicted duplicates
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # Ingestion allocates a few dozen containers per event; at the default threshold (700)
        # the collector runs every few events and keeps walking the long-lived person cache,
        # which cost more than decoding the events. Collections stay, only less often.
        gc.set_threshold(max(gc.get_threshold()[0], GC_THRESHOLD), 20, 20)
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

    def _applier_running(self) -> bool:
        return self.external_applier is not None and self.external_applier()

    def _copy_outbox(self) -> int:
        moved = 0
        while True:
            step = drain_once(self.factory, self.store, max_entries=self.max_entries)
            moved += step
            if step < self.max_entries:
                return moved

    def _apply_group(self) -> tuple[int, int]:
        """Apply one group here and copy it; (batches applied, entries copied)."""
        written: list[WrittenEntry] = []
        try:
            applied = apply_queued(self.factory, max_batches=self.max_batches, written=written)
        except ClaimConflict:  # the applier process took it first
            return 0, 0
        copy_written(self.factory, self.store, written)
        return applied, len(written)

    def drain(self) -> int:
        """Apply and copy every batch accepted before this call (and whatever the outbox holds);
        returns the number of batches and entries moved by this thread."""
        moved = 0
        with self._lock:
            target = newest_queued(self.factory)
            watch = _Progress()
            while target is not None and (head := oldest_queued(self.factory)) is not None and head <= target:
                if self._applier_running() and not watch.stalled(head):
                    # The applier process works through the queue; copy what it has done.
                    moved += self._copy_outbox()
                    self._stop.wait(0.002)
                    continue
                # No applier process, or it has made no progress for a while (stuck on an
                # error): apply here, where an error reaches the reader instead of a wait.
                applied, copied = self._apply_group()
                moved += applied + copied
                # Each applied group goes to the store before the next: readers never wait
                # for the whole queue twice.
                moved += self._copy_outbox()
            moved += self._copy_outbox()
        return moved

    def _run(self) -> None:
        run_in_background()  # readers that must see every event copy themselves (`drain`)
        last_copy = 0.0
        while not self._stop.is_set():
            if self._applier_running():
                self._stop.wait(max(min(COPY_INTERVAL_SECONDS, self.idle_seconds), COPY_SPACING * last_copy))
            else:
                self._wake.wait(self.idle_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                if self._applier_running():
                    started = time.monotonic()
                    with self._lock:
                        self._copy_outbox()
                    last_copy = min(time.monotonic() - started, 1.0)
                else:
                    self.drain()
            except Exception:  # keep the thread alive; the rows stay in the outbox for the next try
                log.exception("replicating the ingestion outbox failed; will retry")
                self._stop.wait(self.idle_seconds)
