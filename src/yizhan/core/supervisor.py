"""A small process supervisor for ``yizhan up``: web, worker and scheduler as children.

A child that exits while the supervisor is not stopping is started again after a
back-off that doubles on each crash (1, 2, 4 … ``backoff_max`` seconds) and resets once
the child has stayed up ``stable_after`` seconds; each exit and restart is logged. One
crashed child never stops the others. ``stop()`` (Ctrl-C / SIGTERM in ``yizhan up``)
sends SIGTERM to every child, waits, then kills what is left.

Process creation, the clock and sleeping are parameters, so the logic is tested with
fake children and a fake clock (``core/tests/test_supervisor.py``).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

log = logging.getLogger("yizhan.up")

BACKOFF_BASE = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    proc: object | None = None  # a Popen-like object: poll(), pid, returncode, send_signal(), wait(), kill()
    started_at: float = 0.0
    crashes: int = 0  # consecutive crashes (reset once it has stayed up STABLE_AFTER seconds)
    restart_at: float | None = None
    restarts: int = 0  # total restarts, for the log and tests
    pids: list[int] = field(default_factory=list)


class Supervisor:
    def __init__(
        self,
        children: dict[str, Sequence[str]],
        *,
        spawn: Callable[[Sequence[str]], object] = subprocess.Popen,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        backoff_base: float = BACKOFF_BASE,
        backoff_max: float = BACKOFF_MAX,
        stable_after: float = STABLE_AFTER,
        poll_interval: float = 0.5,
    ):
        self.children = {name: Child(name, argv) for name, argv in children.items()}
        self.spawn, self.clock, self.sleep = spawn, clock, sleep
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self.stable_after, self.poll_interval = stable_after, poll_interval
        self.stopping = False

    # -- life cycle -------------------------------------------------------------------------------

    def start(self) -> None:
        for child in self.children.values():
            self._spawn(child)

    def _spawn(self, child: Child) -> None:
        child.proc = self.spawn(list(child.argv))
        child.started_at = self.clock()
        child.restart_at = None
        child.pids.append(child.proc.pid)
        log.info("%s started (pid %s)", child.name, child.proc.pid)

    def backoff(self, crashes: int) -> float:
        """Seconds to wait before the restart that follows the ``crashes``-th crash in a row."""
        return min(self.backoff_max, self.backoff_base * 2 ** max(0, crashes - 1))

    def step(self) -> None:
        """One look at every child: note exits, restart those whose back-off has passed,
        forget the crash count of a child that has stayed up long enough."""
        if self.stopping:
            return
        now = self.clock()
        for child in self.children.values():
            proc = child.proc
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    self._spawn(child)
                continue
            code = proc.poll()
            if code is None:
                if child.crashes and now - child.started_at >= self.stable_after:
                    child.crashes = 0
                continue
            child.crashes += 1
            delay = self.backoff(child.crashes)
            child.restart_at = now + delay
            log.warning("%s (pid %s) exited with %s after %.0f s; restarting in %g s (crash %d in a row)",
                        child.name, proc.pid, _describe(code), now - child.started_at, delay, child.crashes)

    def run(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Supervise until ``should_stop()`` or ``stop()``; the caller stops the children."""
        while not self.stopping and not should_stop():
            self.step()
            self.sleep(self.poll_interval)

    def alive(self) -> list[str]:
        return [c.name for c in self.children.values() if c.proc is not None and c.proc.poll() is None]

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to every running child, wait up to ``timeout`` seconds, then SIGKILL."""
        self.stopping = True
        for child in self.children.values():
            if child.proc is not None and child.proc.poll() is None:
                try:
                    child.proc.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = self.clock() + timeout
        for child in self.children.values():
            if child.proc is None:
                continue
            try:
                child.proc.wait(timeout=max(0.1, deadline - self.clock()))
            except subprocess.TimeoutExpired:
                log.warning("%s (pid %s) did not stop in %g s: killed", child.name, child.proc.pid, timeout)
                child.proc.kill()
                child.proc.wait(timeout=5)


def _describe(code: int) -> str:
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"
