"""A small scheduler loop for periodic jobs (time limits, heartbeats, clean-ups).

Apps register jobs with ``@every(seconds)`` in the modules their manifest lists
(``AppManifest.jobs``, imported when the loop starts). The loop runs due jobs one after another, records a heartbeat in the
shared cache each tick (``yizhan check`` reads its age), and survives a failing job.
Heavier work should enqueue a django-tasks task from the job rather than run inline.
Run one scheduler per deployment (``yizhan scheduler``; ``yizhan up`` starts it).
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone

from yizhan.core.manifest import job_modules

log = logging.getLogger("yizhan.scheduler")
HEARTBEAT_KEY = "yizhan:scheduler:heartbeat"


@dataclass
class Job:
    name: str
    seconds: float
    func: Callable[[], object]
    next_run: float = 0.0


REGISTRY: dict[str, Job] = {}


def every(seconds: float, *, name: str | None = None):
    """Register ``func`` to run every ``seconds`` (first run at loop start)."""

    def register(func):
        job_name = name or f"{func.__module__}.{func.__qualname__}"
        REGISTRY[job_name] = Job(job_name, float(seconds), func)
        return func

    return register


def discover_jobs() -> dict[str, Job]:
    """Import every installed app's job modules (``AppManifest.jobs``)."""
    for dotted in job_modules():
        importlib.import_module(dotted)
    return REGISTRY


def heartbeat_age_seconds() -> float | None:
    beat = cache.get(HEARTBEAT_KEY)
    return None if beat is None else (timezone.now() - beat).total_seconds()


def run_due(now: float | None = None) -> list[str]:
    """Run every job that is due; return the names that ran."""
    now = time.monotonic() if now is None else now
    ran = []
    for job in REGISTRY.values():
        if job.next_run <= now:
            try:
                job.func()
            except Exception:  # one failing job must not stop the others
                log.exception("scheduled job %s failed", job.name)
            job.next_run = now + job.seconds
            ran.append(job.name)
    cache.set(HEARTBEAT_KEY, timezone.now(), timeout=None)
    return ran


def run_forever(*, tick: float = 5.0, stop: Callable[[], bool] = lambda: False) -> None:
    discover_jobs()
    log.info("scheduler started with %d jobs: %s", len(REGISTRY), ", ".join(REGISTRY))
    while not stop():
        run_due()
        time.sleep(tick)
