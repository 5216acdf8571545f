"""Concurrent callers' small writes committed together, in one transaction, by one of them.

A commit costs about the same for one row as for many, and SQLite has one writer at a time:
callers that each take the write lock for their own row queue up behind it. Here the first
caller to arrive becomes the *leader*: it takes everything submitted so far (its own row and
the rows of callers that arrived while the previous group was being written), writes it in one
transaction, and wakes their callers. Rows that arrive meanwhile wait for the next group,
whose leader is the oldest of them. A call returns only once its row is committed, or raises
the group's error (the caller may retry: nothing of the group was committed).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Generic, TypeVar

from sqlalchemy import Connection

T = TypeVar("T")


class _Waiting(Generic[T]):
    __slots__ = ("done", "error", "item", "lead")

    def __init__(self, item: T):
        self.item = item
        self.done = threading.Event()
        self.lead = False  # woken to write the next group rather than because its row is in
        self.error: BaseException | None = None


class GroupCommit(Generic[T]):
    def __init__(
        self,
        begin: Callable[[], AbstractContextManager[Connection]],
        write: Callable[[Connection, list[T]], None],
        *,
        max_group: int = 64,
    ):
        self._begin = begin  # a transaction, with whatever lock writers take around it
        self._write = write
        self._max_group = max_group
        self._lock = threading.Lock()
        self._waiting: list[_Waiting[T]] = []
        self._writing = False
        self.groups = 0  # committed groups (for tests and benchmarks)

    def submit(self, item: T) -> None:
        waiting = _Waiting(item)
        with self._lock:
            self._waiting.append(waiting)
            lead = not self._writing
            self._writing = True
        if not lead:
            waiting.done.wait()
            if not waiting.lead:
                if waiting.error is not None:
                    raise waiting.error
                return
        self._lead()
        if waiting.error is not None:
            raise waiting.error

    def _lead(self) -> None:
        with self._lock:
            group = self._waiting[: self._max_group]
            del self._waiting[: self._max_group]
        try:
            with self._begin() as connection:
                self._write(connection, [w.item for w in group])
        except BaseException as exc:
            for member in group:
                member.error = exc
        else:
            self.groups += 1
        with self._lock:
            if self._waiting:
                successor = self._waiting[0]
                successor.lead = True
                successor.done.set()
            else:
                self._writing = False
        for member in group:
            member.lead = False
            member.done.set()
