"""One writer thread that commits concurrent writes together (group commit).

DuckDB allows a single writer per file, and a commit costs a WAL sync whatever its size. Callers
hand their write to the writer thread and block; the thread takes everything queued at that
moment, runs it in one transaction, commits, and only then releases the callers. So a call that
returns knows its rows are durable, and N concurrent calls cost far fewer than N commits.

Appends to the same table go further: queued batches under one key are applied by a single
statement, because a statement's fixed cost (for events, the duplicate check against everything
stored) dominates small batches.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from hedgerow.threads import run_in_background

T = TypeVar("T")
log = logging.getLogger(__name__)


class TransactionalConnection(Protocol):
    def execute(self, query: str, /, *args: Any) -> Any: ...


@dataclass
class _Request(Generic[T]):
    op: Callable[[Any], T] | None = None
    batch_key: str | None = None
    payload: Any = None
    apply_batch: Callable[[Any, list[Any]], None] | None = None
    future: Future[T] = field(default_factory=Future)


class GroupCommitWriter:
    """Runs write operations on `conn`, grouping whatever is queued into one transaction."""

    def __init__(self, conn: TransactionalConnection, *, max_group: int = 256, name: str = "writer"):
        self._conn = conn
        self._max_group = max_group
        self._queue: queue.SimpleQueue[_Request[Any] | None] = queue.SimpleQueue()
        self._closed = False
        self._close_lock = threading.Lock()
        # Counters are only written by the writer thread; readers may see a slightly stale value.
        self.transactions = 0
        self.operations = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, op: Callable[[Any], T]) -> T:
        """Run `op(conn)` inside a transaction; return its result once the transaction committed."""
        return self._enqueue(_Request(op=op))

    def submit_batch(self, key: str, payload: Any, apply: Callable[[Any, list[Any]], None]) -> None:
        """Write `payload` through `apply(conn, payloads)`, together with payloads queued under `key`."""
        self._enqueue(_Request[None](batch_key=key, payload=payload, apply_batch=apply))

    def _enqueue(self, request: _Request[T]) -> T:
        with self._close_lock:
            if self._closed:
                raise RuntimeError("the analytics store is closed")
            self._queue.put(request)
        return request.future.result()

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        run_in_background()  # whoever submits waits, but no client request is among them
        while True:
            first = self._queue.get()
            if first is None:
                return
            group: list[_Request[Any]] = [first]
            stopping = False
            while len(group) < self._max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                group.append(item)
            self._commit(group)
            if stopping:
                return

    def _commit(self, group: list[_Request[Any]]) -> None:
        batches: dict[str, list[_Request[Any]]] = {}
        singles: list[_Request[Any]] = []
        for request in group:
            if request.batch_key is None:
                singles.append(request)
            else:
                batches.setdefault(request.batch_key, []).append(request)
        results: dict[int, Any] = {}
        try:
            self._conn.execute("BEGIN TRANSACTION")
            try:
                for requests in batches.values():
                    apply = requests[0].apply_batch
                    assert apply is not None
                    apply(self._conn, [request.payload for request in requests])
                for request in singles:
                    assert request.op is not None
                    results[id(request)] = request.op(self._conn)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        except BaseException as exc:
            if len(group) == 1:
                group[0].future.set_exception(exc)
                return
            # One bad write must not fail the others it happened to share a transaction with.
            log.debug("group of %d writes failed, retrying one by one: %s", len(group), exc)
            for request in group:
                self._commit([request])
            return
        self.transactions += 1
        self.operations += len(group)
        for request in group:
            request.future.set_result(results.get(id(request)))
