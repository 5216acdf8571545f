"""Background threads (copying into the analytics store, checkpoints, the analytics store's
writer) run at a lower CPU priority than the threads that answer requests."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from hedgerow.db.checkpoints import Checkpointer
from hedgerow.db.migrate import upgrade
from hedgerow.db.session import make_engine, make_sessionmaker
from hedgerow.domain.ingestion.replicator import Replicator
from hedgerow.store.factory import open_store
from hedgerow.threads import BACKGROUND_NICENESS, run_in_background

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values")


def _nice(thread_id: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, thread_id)


def _settles(read: Callable[[], int], expected: int) -> int:
    deadline = time.monotonic() + 5
    value = read()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.01)
        value = read()
    return value


def test_only_the_calling_thread_gives_way() -> None:
    mine = _nice(threading.get_native_id())
    seen: list[int] = []

    def background() -> None:
        assert run_in_background()
        seen.append(_nice(threading.get_native_id()))

    thread = threading.Thread(target=background)
    thread.start()
    thread.join()
    assert seen == [min(mine + BACKGROUND_NICENESS, 19)]
    assert _nice(threading.get_native_id()) == mine


def test_the_servers_background_threads_give_way(tmp_path: Path) -> None:
    mine = _nice(threading.get_native_id())
    lowered = min(mine + BACKGROUND_NICENESS, 19)
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    upgrade(url)
    engine = make_engine(url, checkpoints=False)
    factory: sessionmaker[Session] = make_sessionmaker(engine)
    store = open_store(f"duckdb:///{tmp_path / 'events.duckdb'}")
    checkpointer = Checkpointer(engine, interval=10)
    replicator = Replicator(factory, store, idle_seconds=10)
    checkpointer.start()
    replicator.start()
    try:
        threads = {
            "checkpoints": checkpointer._thread,
            "replicator": replicator._thread,
            "analytics store writer": store._writer._thread,  # type: ignore[attr-defined]
        }
        for name, thread in threads.items():
            assert thread is not None and thread.native_id is not None, name
            native = thread.native_id
            assert _settles(lambda native=native: _nice(native), lowered) == lowered, name
    finally:
        replicator.stop()
        checkpointer.stop()
        store.close()
        engine.dispose()
    assert _nice(threading.get_native_id()) == mine
