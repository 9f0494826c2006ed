"""One per-process cache of data built from the database (the locate, routing, nearby,
category-settings and calendar indexes).

    _index = ProcessCache("reports.routing", build=_build, stamp=_stamp,
                          refresh_setting="YIZHAN_ROUTING_REFRESH_SECONDS", refresh_default=2.0)
    idx = _index.get()          # built once, rebuilt when the stamp changed
    _index.forget()             # the next get() rebuilds (writers call it now and on commit)

``stamp()`` is a cheap query telling whether the data changed (count, max id, max
``updated_at``...); it is asked at most every ``refresh`` seconds per process, so another
process's write is seen within that time while this process's own writes are seen at once
(the writer calls ``forget()``). The build runs under a lock: concurrent first callers
wait for the one build instead of each building. ``build(stamp)`` receives the stamp it is
built for, so a change during the build is noticed at the next check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from django.conf import settings

T = TypeVar("T")


class ProcessCache(Generic[T]):
    def __init__(self, name: str, *, build: Callable[[Any], T], stamp: Callable[[], Any],
                 refresh_setting: str | None = None, refresh_default: float = 5.0,
                 clock: Callable[[], float] = time.monotonic):
        self.name = name
        self._build = build
        self._stamp = stamp
        self._refresh_setting = refresh_setting
        self._refresh_default = refresh_default
        self._clock = clock
        self._lock = threading.Lock()
        self._value: T | None = None
        self._built = False
        self._built_stamp: Any = None
        self._checked_at = float("-inf")
        self._holding = 0

    @property
    def refresh_seconds(self) -> float:
        if self._refresh_setting:
            return float(getattr(settings, self._refresh_setting, self._refresh_default))
        return self._refresh_default

    def _fresh_enough(self, now: float) -> bool:
        return self._built and now - self._checked_at < self.refresh_seconds

    def get(self, *, fresh: bool = False) -> T:
        """The cached value; the stamp is checked when ``refresh`` seconds passed since the
        last check (always when ``fresh``), and the value rebuilt when it changed."""
        now = self._clock()
        fresh = fresh and not self._holding
        if not fresh and self._fresh_enough(now):
            return self._value  # type: ignore[return-value]
        with self._lock:
            now = self._clock()
            if not fresh and self._fresh_enough(now):
                return self._value  # type: ignore[return-value]
            stamp = self._stamp()
            if not self._built or stamp != self._built_stamp:
                self._value = self._build(stamp)
                self._built_stamp = stamp
                self._built = True
            self._checked_at = now
            return self._value  # type: ignore[return-value]

    @contextmanager
    def holding(self):
        """Within the block, ``get(fresh=True)`` is answered like ``get()`` (the stamp asked
        at most every ``refresh`` seconds). For a loader that runs many services in one
        transaction and changes none of the cached tables inside the block (``yizhan
        demo``'s case walk): the services' "always check" costs a stamp query each."""
        self._holding += 1
        try:
            yield self
        finally:
            self._holding -= 1

    def peek(self) -> T | None:
        """The value as it is, without checking or building (None before the first build)."""
        return self._value if self._built else None

    def forget(self) -> None:
        """Drop the value: the next ``get()`` builds it again."""
        with self._lock:
            self._value = None
            self._built = False
            self._built_stamp = None
            self._checked_at = float("-inf")

    def __repr__(self) -> str:
        return f"<ProcessCache {self.name} built={self._built}>"
