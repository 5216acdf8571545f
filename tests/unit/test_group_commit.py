"""Concurrent small writes committed together by one caller (db/group_commit.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from hedgerow.db.group_commit import GroupCommit


class Store:
    """Records what each transaction wrote; commits take a moment, so callers pile up."""

    def __init__(self, *, fail_when: Any = None):
        self.committed: list[list[int]] = []
        self.fail_when = fail_when
        self.open_transactions = 0

    @contextmanager
    def begin(self) -> Iterator[Any]:
        assert self.open_transactions == 0, "two transactions at once"
        self.open_transactions += 1
        pending: list[int] = []
        try:
            yield pending
            time.sleep(0.01)
            if self.fail_when is not None and self.fail_when(pending):
                raise OSError("disk full")
            self.committed.append(pending)
        finally:
            self.open_transactions -= 1

    def write(self, connection: Any, items: list[int]) -> None:
        connection.extend(items)


def _submit_all(writer: GroupCommit[int], items: range) -> dict[int, BaseException | None]:
    outcome: dict[int, BaseException | None] = {}
    start = threading.Barrier(len(items))

    def one(item: int) -> None:
        start.wait()
        try:
            writer.submit(item)
            outcome[item] = None
        except BaseException as exc:
            outcome[item] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(t.is_alive() for t in threads), "a caller never returned"
    return outcome


def test_concurrent_writes_share_transactions_and_each_returns_once_committed() -> None:
    store = Store()
    writer: GroupCommit[int] = GroupCommit(store.begin, store.write)
    outcome = _submit_all(writer, range(40))
    assert outcome == {i: None for i in range(40)}
    assert sorted(i for group in store.committed for i in group) == list(range(40))
    assert writer.groups == len(store.committed) < 40


def test_a_failed_transaction_fails_each_of_its_callers_and_no_one_else() -> None:
    store = Store(fail_when=lambda items: 7 in items)
    writer: GroupCommit[int] = GroupCommit(store.begin, store.write, max_group=4)
    outcome = _submit_all(writer, range(20))
    failed = {i for i, error in outcome.items() if error is not None}
    assert 7 in failed and all(isinstance(outcome[i], OSError) for i in failed)
    committed = {i for group in store.committed for i in group}
    assert committed == set(range(20)) - failed
    writer.submit(99)  # the writer carries on
    assert store.committed[-1] == [99]


def test_one_caller_alone_writes_its_own_row() -> None:
    store = Store()
    writer: GroupCommit[int] = GroupCommit(store.begin, store.write)
    writer.submit(1)
    writer.submit(2)
    assert store.committed == [[1], [2]]
    with pytest.raises(OSError):
        GroupCommit(Store(fail_when=lambda items: True).begin, store.write).submit(3)


def test_callers_on_an_event_loop_await_their_commit_without_a_thread_each() -> None:
    store = Store(fail_when=lambda items: 13 in items)
    writer: GroupCommit[int] = GroupCommit(store.begin, store.write, max_group=8)

    async def main() -> list[BaseException | None]:
        return await asyncio.gather(*(writer.submit_async(i) for i in range(30)), return_exceptions=True)

    results = asyncio.run(main())
    failed = {i for i, result in enumerate(results) if result is not None}
    assert 13 in failed and all(isinstance(results[i], OSError) for i in failed)
    assert {i for group in store.committed for i in group} == set(range(30)) - failed
    assert len(store.committed) < 30 - len(failed)


def test_a_transient_error_is_retried_for_the_whole_group_before_callers_hear_of_it() -> None:
    failures = iter([True, True])
    store = Store(fail_when=lambda items: next(failures, False))
    writer: GroupCommit[int] = GroupCommit(store.begin, store.write, retry_on=(OSError,), attempts=3)
    writer.submit(1)
    assert store.committed == [[1]]
    stubborn: GroupCommit[int] = GroupCommit(
        Store(fail_when=lambda items: True).begin, store.write, retry_on=(OSError,), attempts=2
    )
    with pytest.raises(OSError):
        stubborn.submit(2)
