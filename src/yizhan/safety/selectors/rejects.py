"""Reads of refused ingest messages (``IngestReject``) for managers: counts by channel
and reason, and the most recent rows. Rejects carry no jurisdiction (an unknown device
has none), so only people holding ``safety.manage`` somewhere see them."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, QuerySet

from yizhan.core import permissions
from yizhan.safety.models import IngestReject

MANAGE = "safety.manage"


def reject_counts(*, user, since: datetime | None = None, channel: str = "") -> list[dict]:
    permissions.require(user, MANAGE)
    qs = IngestReject.objects.all()
    if since is not None:
        qs = qs.filter(at__gte=since)
    if channel:
        qs = qs.filter(channel=channel)
    rows = qs.order_by().values("channel", "reason").annotate(count=Count("id"))
    return sorted(({"channel": r["channel"], "reason": r["reason"], "count": r["count"]} for r in rows),
                  key=lambda r: (-r["count"], r["channel"], r["reason"]))


def reject_recent(*, user, channel: str = "", reason: str = "", limit: int = 50) -> QuerySet:
    permissions.require(user, MANAGE)
    qs = IngestReject.objects.all()
    if channel:
        qs = qs.filter(channel=channel)
    if reason:
        qs = qs.filter(reason=reason)
    return qs.order_by("-at", "-id")[:limit]
