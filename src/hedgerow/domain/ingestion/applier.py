"""The ingestion applier: a process of its own that applies queued capture batches to persons.

`hedgerow serve` starts one beside itself (`HEDGEROW_INGESTION_APPLIER=process`, the default),
so working out person changes, the heaviest step of ingestion, runs on another core than the
HTTP server and the analytics store's writer. It touches only the metadata store; the server's
replicator copies what it commits to the outbox into the analytics store.

The child stops when told to (SIGTERM) or when its parent goes away: it holds the read end of a
pipe whose write end only the parent has, so the parent's death, however abrupt, reaches it as
end-of-file. Until the child reports that it is ready (a byte on a pipe), or if it dies, the
server applies batches itself.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import subprocess
import sys
import threading
import time

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from hedgerow.domain.ingestion.queue import ClaimConflict
from hedgerow.domain.ingestion.service import apply_queued

log = logging.getLogger("hedgerow.ingestion")
READY_FD_VARIABLE = "HEDGEROW_APPLIER_READY_FD"
_IDLE_SECONDS = 0.005
_MAX_IDLE_SECONDS = 0.05
# A group costs a fixed part (its queries and commit) besides its events: after a small one, let
# the queue fill a little, so that under load groups grow instead of staying at a few batches.
# Under bench/ingest.py's load, the applier kept pace with groups of ~25 batches, spending about
# 33 us per event against ~22 us in groups of 100 or more, and the CPU it spent was taken from
# capture on the same two cores. Waiting 50 ms after any group under 100 batches (it was 20 ms
# after one under 10) gave 5-10% more events/s in two alternating pairs; 100 ms gave no more.
# An event waits that much longer to become visible when the load is light.
_SMALL_GROUP = 100
_GATHER_SECONDS = 0.05
# Batches applied per group at most, when that many are waiting. Groups of up to 200 rather than
# 100 batches gave 2-9% more events/s in each of four alternating runs of bench/ingest.py (the
# fixed part of a group, its queries and commit, spread over more events), though each group
# then holds the write turn longer.
MAX_GROUP_BATCHES = 200


class GroupCollector:
    """Cycle collection between groups rather than in the middle of one.

    The collector's young generation is counted in allocations net of frees. Mid-group, that
    count is mostly the group's own short-lived objects (events, persons, rows), which would all
    be freed by reference counting a moment later, and every pass walked them all (~25 ms per
    pass, about a tenth of the applier's time). Between groups they are gone, and a pass walks
    only what stays (remembered identities and persons). Automatic collection is switched off
    while this is in use; `after_group` collects each generation by the counts the interpreter
    keeps, as it would itself.
    """

    def __init__(self, young: int = 10_000, older: int = 20):
        self.young = young
        self.older = older
        self._was_enabled = gc.isenabled()
        gc.disable()

    def after_group(self) -> None:
        young, middle, old = gc.get_count()
        if old > self.older:
            gc.collect(2)
        elif middle > self.older:
            gc.collect(1)
        elif young > self.young:
            gc.collect(0)

    def close(self) -> None:
        if self._was_enabled:
            gc.enable()


def run_applier(
    factory: sessionmaker[Session],
    stop: threading.Event,
    *,
    max_batches: int = MAX_GROUP_BATCHES,
    collector: GroupCollector | None = None,
) -> None:
    """Apply queued batches until `stop` is set: soon while there is work (50 ms after a group
    of fewer than 100 batches, at once after a larger one), polling briefly (backing off to
    50 ms) while there is none. With `collector`, cycles are collected between groups."""
    idle = _IDLE_SECONDS
    while not stop.is_set():
        try:
            applied = apply_queued(factory, max_batches=max_batches)
        except ClaimConflict:
            applied = 1  # another applier (a reader catching up) took the group: look again now
        except Exception:  # the batches stay queued; try again after a pause
            log.exception("applying queued capture batches failed; will retry")
            applied = 0
            stop.wait(1.0)
        if collector is not None:  # after failures too: their tracebacks hold cycles
            collector.after_group()
        if applied:
            idle = _IDLE_SECONDS
            if applied < _SMALL_GROUP:
                stop.wait(_GATHER_SECONDS)
        else:
            stop.wait(idle)
            idle = min(idle * 2, _MAX_IDLE_SECONDS)


def _stop_on_parent_exit(stop: threading.Event) -> None:
    # The raw descriptor, not sys.stdin: a daemon thread blocked in a buffered read holds the
    # buffer's lock, and the interpreter aborts when it cannot take that lock at exit.
    try:
        while os.read(0, 65536):
            pass
    except OSError:
        pass
    stop.set()


def applier_main(factory: sessionmaker[Session]) -> None:
    """The child's body (`hedgerow apply-ingestion`): run until SIGTERM or the parent's exit."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threading.Thread(target=_stop_on_parent_exit, args=(stop,), daemon=True).start()
    _report_ready(factory)
    collector = GroupCollector()
    try:
        run_applier(factory, stop, collector=collector)
    finally:
        collector.close()


def _report_ready(factory: sessionmaker[Session]) -> None:
    """Tell the parent this process is up and reaches the metadata store (one byte on the pipe
    it passed), so it stops applying batches itself only once they will be applied here."""
    with factory() as session:
        session.execute(text("SELECT 1"))
    descriptor = os.environ.get(READY_FD_VARIABLE)
    if descriptor and descriptor.isdigit():
        with contextlib.suppress(OSError):
            os.write(int(descriptor), b"1")
            os.close(int(descriptor))


class ApplierProcess:
    """The parent's handle on the child: started with the server, stopped with it."""

    def __init__(self, database_url: str, *, env: dict[str, str] | None = None):
        self.database_url = database_url
        self.env = env
        self._process: subprocess.Popen[bytes] | None = None
        self._ready_pipe: int | None = None
        self._ready = False

    def start(self) -> None:
        env = dict(self.env if self.env is not None else os.environ)
        env["HEDGEROW_DATABASE_URL"] = self.database_url
        read_end, write_end = os.pipe()
        env[READY_FD_VARIABLE] = str(write_end)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "hedgerow", "apply-ingestion"],
                stdin=subprocess.PIPE,
                env=env,
                pass_fds=(write_end,),
            )
        finally:
            os.close(write_end)
        os.set_blocking(read_end, False)
        self._ready_pipe = read_end

    def alive(self) -> bool:
        """Running and ready: until the child has said so, the server applies batches itself."""
        if self._process is None or self._process.poll() is not None:
            return False
        if not self._ready and self._ready_pipe is not None:
            with contextlib.suppress(BlockingIOError):
                self._ready = os.read(self._ready_pipe, 1) == b"1"
        return self._ready

    def stop(self, timeout: float = 30.0) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            if process.poll() is None:
                process.kill()
        process.wait()
        if process.stdin is not None:
            process.stdin.close()
        if self._ready_pipe is not None:
            os.close(self._ready_pipe)
        self._process, self._ready_pipe, self._ready = None, None, False
