"""Task lease: a task left "running" by a dead worker is taken up again.

django-tasks' database backend marks a task RUNNING when a worker claims it and never
looks at it again, so a worker killed mid-task leaves it RUNNING for ever. ``yizhan
worker`` therefore beats a heartbeat (in the shared cache, under its worker id) while it
lives, and the scheduler job ``task_lease_sweep`` (every 30 s) puts a RUNNING task back
to READY when it started more than ``YIZHAN_TASK_LEASE_SECONDS`` ago and its worker has
not beaten for as long. After ``YIZHAN_TASK_MAX_ATTEMPTS`` claims the task is marked
FAILED instead (a task that kills its worker must not kill every worker in turn).
Tasks must be idempotent (ours are: they claim their rows).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

log = logging.getLogger("yizhan.tasks")
BEAT_PREFIX = "yizhan:worker:beat:"


class WorkerDied(RuntimeError):
    """Recorded on a task whose workers died while running it too many times."""


def lease_seconds() -> float:
    return float(getattr(settings, "YIZHAN_TASK_LEASE_SECONDS", 120))


def max_attempts() -> int:
    return int(getattr(settings, "YIZHAN_TASK_MAX_ATTEMPTS", 3))


def worker_beat(worker_id: str) -> None:
    cache.set(BEAT_PREFIX + worker_id, timezone.now(), timeout=max(60, int(lease_seconds() * 4)))


def worker_last_beat(worker_id: str):
    return cache.get(BEAT_PREFIX + worker_id)


def start_heartbeat(worker_id: str, *, every: float | None = None) -> threading.Event:
    """Beat for ``worker_id`` from a daemon thread (a quarter of the lease, at most 30 s)
    until the returned event is set or the process ends."""
    every = every or min(30.0, lease_seconds() / 4)
    stop = threading.Event()

    def loop():
        while True:
            try:
                close_old_connections()
                worker_beat(worker_id)
            except Exception:  # the database may be busy or restarting: beat again later
                log.warning("worker heartbeat failed", exc_info=True)
            if stop.wait(every):
                break
        close_old_connections()

    threading.Thread(target=loop, name="yizhan-worker-heartbeat", daemon=True).start()
    return stop


def tasks_requeue_stale(*, now=None) -> dict:
    """RUNNING tasks past their lease whose worker no longer beats: READY again (or
    FAILED after too many attempts). Returns counts."""
    now = now or timezone.now()
    lease = timedelta(seconds=lease_seconds())
    requeued = failed = 0
    stale = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=now - lease)
    for row in stale.only("id", "started_at", "worker_ids", "task_path"):
        worker_id = row.worker_ids[-1] if row.worker_ids else ""
        beat = worker_last_beat(worker_id) if worker_id else None
        if beat is not None and now - beat < lease:
            continue  # its worker is alive and still on it: a long task, not a lost one
        same = DBTaskResult.objects.filter(pk=row.pk, status=TaskResultStatus.RUNNING, started_at=row.started_at)
        if len(row.worker_ids) >= max_attempts():
            why = f"the worker died while running this task ({len(row.worker_ids)} attempts)"
            if same.update(status=TaskResultStatus.FAILED, finished_at=now, return_value=None,
                           exception_class_path=f"{WorkerDied.__module__}.{WorkerDied.__qualname__}",
                           traceback=f"{WorkerDied.__qualname__}: {why}\n"):
                failed += 1
                log.error("task %s (%s): worker %s gone, %s: marked failed", row.pk, row.task_path,
                          worker_id or "?", why)
        elif same.update(status=TaskResultStatus.READY, started_at=None):
            requeued += 1
            log.warning("task %s (%s): worker %s gone for over %g s: queued again (attempt %d of %d)",
                        row.pk, row.task_path, worker_id or "?", lease.total_seconds(),
                        len(row.worker_ids) + 1, max_attempts())
    return {"requeued": requeued, "failed": failed}
