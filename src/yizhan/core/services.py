"""Writes of the shared kernel (the inbox)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from yizhan.core.errors import NotAuthenticated
from yizhan.core.models import Notification


def notifications_mark_read(*, actor, ids: list[int] | None = None) -> int:
    """Mark the actor's notifications read (all of them when ``ids`` is None).
    Returns how many changed. Only the owner's rows are touched; no audit row
    (reading one's own inbox is not a change to anyone's data)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    with transaction.atomic():
        qs = Notification.objects.filter(user=actor, read_at__isnull=True)
        if ids is not None:
            qs = qs.filter(pk__in=ids)
        return qs.update(read_at=timezone.now())
