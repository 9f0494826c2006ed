"""An in-process timer for dispatch escalation deadlines (sub-tick precision).

The scheduler ticks every 5 s; an escalation is due 15 s after a wave went out. The
``dispatch_escalation`` job (``safety/jobs.py``) escalates what is due and then arms
this timer for every deadline before its next tick, so the escalation runs at the
deadline (plus a few milliseconds), not up to a tick late. ``dispatch_start`` also arms
it on commit, which matters only in a process where a timer runs (the scheduler's):
``arm`` does nothing until ``enable(fn)`` was called, so web and ingest processes and the
tests never start the thread.

One daemon thread, a heap of due times (deduplicated to 10 ms); when one is reached it
calls the function given to ``enable`` (``dispatch_escalate_due``: idempotent,
row-locked) and closes its database connection. This module imports no service (the
services arm it; the job hands it the function).
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Iterable
from datetime import datetime

log = logging.getLogger("yizhan.safety.dispatch")

LATE_MARGIN_SECONDS = 0.02  # wake just after the deadline so ``now >= due`` holds
MAX_PENDING = 10_000


class Waker:
    def __init__(self, fn=None):
        self._fn = fn
        self._heap: list[float] = []
        self._keys: set[int] = set()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self.enabled = False
        self.runs = 0

    def _call(self) -> None:
        from django.db import connection

        if self._fn is None:
            return
        try:
            self._fn()
        finally:
            connection.close()

    def arm(self, at: datetime | float) -> bool:
        if not self.enabled:
            return False
        ts = at.timestamp() if isinstance(at, datetime) else float(at)
        key = int(ts * 100)
        with self._cond:
            if key in self._keys or len(self._heap) >= MAX_PENDING:
                return False
            self._keys.add(key)
            heapq.heappush(self._heap, ts)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="dispatch-waker", daemon=True)
                self._thread.start()
            self._cond.notify()
        return True

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                wait = self._heap[0] + LATE_MARGIN_SECONDS - time.time()
                if wait > 0:
                    self._cond.wait(timeout=wait)
                    continue
                ts = heapq.heappop(self._heap)
                self._keys.discard(int(ts * 100))
                # deadlines that fell due together are handled by one run
                while self._heap and self._heap[0] + LATE_MARGIN_SECONDS <= time.time():
                    self._keys.discard(int(heapq.heappop(self._heap) * 100))
            try:
                self._call()
                self.runs += 1
            except Exception:  # noqa: BLE001 - the scheduler's next tick runs it again
                log.exception("dispatch escalation from the timer failed")


WAKER = Waker()


def enable(fn) -> None:
    """Let ``arm`` start the timer thread in this process, calling ``fn`` at each
    deadline (the scheduler's job passes ``dispatch_escalate_due``)."""
    WAKER._fn = fn
    WAKER.enabled = True


def arm_many(times: Iterable[datetime]) -> int:
    return sum(1 for t in times if WAKER.arm(t))
