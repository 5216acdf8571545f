"""Versions for changes that arrive without one (static cohort membership)."""

from __future__ import annotations

import threading
import time


class VersionClock:
    """Strictly increasing versions: microseconds since the epoch, bumped on collisions.

    Static membership calls carry no version of their own; the clock keeps "add then remove"
    in call order within a process, and in time order across processes up to clock skew.
    """

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._last = max(time.time_ns() // 1000, self._last + 1)
            return self._last
