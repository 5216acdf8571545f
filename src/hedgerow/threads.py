"""Background threads give way to the work clients wait for.

On a busy server, the threads that copy ingested events into the analytics store, checkpoint the
metadata store and write the analytics store share the cores with the event loop answering
capture requests and with the applier process; no client waits on their work as it happens.
Linux schedules every thread by its own nice value, so these raise theirs a few steps: they
still get their share (at +5, about a third of what an ordinary thread gets on a contended
core), behind request handling, and the whole core when nothing else wants it.
"""

from __future__ import annotations

import os
import sys
import threading

BACKGROUND_NICENESS = 5


def run_in_background(niceness: int = BACKGROUND_NICENESS) -> bool:
    """Lower the calling thread's CPU priority by `niceness` steps (Linux; elsewhere a nice
    value is the whole process's, which is left alone). True if it was lowered."""
    if not sys.platform.startswith("linux"):
        return False
    thread = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, thread, min(os.getpriority(os.PRIO_PROCESS, thread) + niceness, 19))
    except OSError:  # not permitted here: the thread runs as before
        return False
    return True
