"""Background tasks of the shared kernel (django-tasks; ``yizhan worker`` runs them)."""

from django_tasks import task

from yizhan.core.outbox import outbound_deliver_due


@task()
def outbox_deliver() -> dict:
    """Send the outbound notifications that are due (enqueued after each commit that
    queued some). Idempotent: claims rows, so several workers may run it at once."""
    return outbound_deliver_due()
