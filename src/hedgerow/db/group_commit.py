"""Concurrent callers' small writes committed together, in one transaction, by one thread.

A commit costs about the same for one row as for many, and SQLite has one writer at a time:
callers that each take the write lock for their own row queue up behind it. Here callers hand
their row to a writer thread and wait; the thread takes everything handed over so far, writes
it in one transaction and releases those callers, then takes what arrived meanwhile. A call
returns only once its row is committed, or raises the group's error (nothing of the group was
committed). Errors named as transient (a busy database) are retried here, for the whole group,
before any caller hears of them. Callers on an event loop await instead of blocking a thread;
or, when the write can start without waiting at all, write it themselves (`write_now`).

The thread starts with the first write and ends after a few idle seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Generic, TypeVar

from sqlalchemy import Connection

T = TypeVar("T")
_IDLE_SECONDS = 5.0


class _Waiting(Generic[T]):
    __slots__ = ("done", "error", "future", "item", "loop")

    def __init__(self, item: T, loop: asyncio.AbstractEventLoop | None = None):
        self.item = item
        self.loop = loop
        self.future: asyncio.Future[None] | None = loop.create_future() if loop is not None else None
        self.done = threading.Event() if loop is None else None
        self.error: BaseException | None = None

    def finish(self, error: BaseException | None) -> None:
        self.error = error
        if self.done is not None:
            self.done.set()
        elif self.loop is not None and self.future is not None:
            # A closed loop raises RuntimeError: its caller is gone.
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(_resolve, self.future, error)


def _resolve(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the caller went away (cancelled)
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


class GroupCommit(Generic[T]):
    def __init__(
        self,
        begin: Callable[[], AbstractContextManager[Connection]],
        write: Callable[[Connection, list[T]], None],
        *,
        max_group: int = 64,
        name: str = "group-commit",
        retry_on: tuple[type[BaseException], ...] = (),
        attempts: int = 1,
        write_now: Callable[[list[T]], bool] | None = None,
    ):
        self._begin = begin  # a transaction, with whatever lock writers take around it
        self._write = write
        self._max_group = max_group
        self._name = name
        # Errors worth trying the whole group again for (a busy database), and how many tries.
        self._retry_on = retry_on
        self._attempts = attempts
        # Writes and commits items if that needs no waiting (True), else writes nothing (False).
        self._write_now = write_now
        self._cond = threading.Condition()
        self._waiting: list[_Waiting[T]] = []
        self._running = False
        self.groups = 0  # committed groups (for tests and benchmarks)

    def write_now(self, item: T) -> bool:
        """Write `item` in the caller's own thread when that needs no waiting: nobody is queued
        and the `write_now` given can write it at once. True once committed; False with nothing
        written, and the caller submits it instead. Handing a row to the writer thread and being
        woken again costs more than the write itself when nobody else is writing."""
        if self._write_now is None or self._waiting or not self._write_now([item]):
            return False
        self.groups += 1
        return True

    def submit(self, item: T) -> None:
        """Write `item`; returns once it is committed."""
        waiting: _Waiting[T] = _Waiting(item)
        self._hand_over(waiting)
        assert waiting.done is not None
        waiting.done.wait()
        if waiting.error is not None:
            raise waiting.error

    async def submit_async(self, item: T) -> None:
        """`submit` for a caller on an event loop."""
        waiting: _Waiting[T] = _Waiting(item, asyncio.get_running_loop())
        self._hand_over(waiting)
        assert waiting.future is not None
        await waiting.future

    def _hand_over(self, waiting: _Waiting[T]) -> None:
        with self._cond:
            self._waiting.append(waiting)
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name=self._name, daemon=True).start()
            self._cond.notify()

    def _run(self) -> None:
        try:
            self._serve()
        finally:
            with self._cond:  # however the thread ends, the next caller starts another
                self._running = False
                if self._waiting:
                    self._running = True
                    threading.Thread(target=self._run, name=self._name, daemon=True).start()

    def _serve(self) -> None:
        while True:
            with self._cond:
                if not self._waiting:
                    self._cond.wait(_IDLE_SECONDS)
                if not self._waiting:
                    return
                group = self._waiting[: self._max_group]
                del self._waiting[: self._max_group]
            error = self._commit([w.item for w in group])
            for member in group:
                member.finish(error)

    def _commit(self, items: list[T]) -> BaseException | None:
        """Write `items` in one transaction, retrying on `retry_on`; the error that stopped it."""
        for attempt in range(1, self._attempts + 1):
            try:
                with self._begin() as connection:
                    self._write(connection, items)
            except self._retry_on as exc:
                if attempt == self._attempts:
                    return exc
                time.sleep(0.02 * attempt)
            except BaseException as exc:  # handed to every caller of the group
                return exc
            else:
                self.groups += 1
                return None
        raise AssertionError("unreachable")
