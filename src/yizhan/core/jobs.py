"""Platform housekeeping jobs (the login codes' clean-up is ``accounts.jobs``)."""

from yizhan.core.outbox import outbound_deliver_due, outbound_prune
from yizhan.core.scheduler import every
from yizhan.core.task_lease import tasks_requeue_stale


@every(15)
def outbox_deliver_due_job() -> dict:
    """Sweep the outbox: retries whose backoff has passed, rows whose task was lost or
    whose deliverer died (lease expired). Small batches claimed for ~10 s at most, so the
    other jobs are not held up; safe beside running workers."""
    return outbound_deliver_due(limit=100, budget_seconds=10)


@every(24 * 3600)
def outbox_prune() -> int:
    """Sent and skipped outbound copies are kept 30 days (dead ones stay for a look)."""
    return outbound_prune(days=30)


@every(30)
def task_lease_sweep() -> dict:
    """Tasks left RUNNING by a dead worker go back to the queue once their lease is over
    (core/task_lease.py); a task that outlived too many workers is marked failed."""
    return tasks_requeue_stale()
