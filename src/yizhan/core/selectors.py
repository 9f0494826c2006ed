"""Reads of the shared kernel: the audit log and the inbox."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from yizhan.core import outbox
from yizhan.core.errors import InvalidDate
from yizhan.core.models import (
    AuditLog,
    ChannelBinding,
    Notification,
    NotificationPreference,
    OutboundChannel,
)
from yizhan.core.permissions import require, scope_paths
from yizhan.core.pii import mask_phone


def audit_list(*, actor, filters: dict | None = None) -> QuerySet:
    """Audit rows inside the actor's ``audit.view`` scope. Rows without a
    jurisdiction (logins, token changes) are visible to auditors of a root node.

    Filters: action, actor (username contains), object_type, object_id, since, until
    (aware datetimes or ISO strings), q (summary contains)."""
    require(actor, "audit.view")
    paths = scope_paths(actor, "audit.view")
    cond = Q()
    for p in paths:
        cond |= Q(jurisdiction_path__startswith=p)
    if any(p.count("/") <= 2 for p in paths):  # "/" or "/SZ/": a root
        cond |= Q(jurisdiction_path="")
    qs = AuditLog.objects.filter(cond)
    f = filters or {}
    if f.get("action"):
        qs = qs.filter(action=f["action"])
    if f.get("actor"):
        qs = qs.filter(actor_label__icontains=f["actor"])
    if f.get("object_type"):
        qs = qs.filter(object_type=f["object_type"])
    if f.get("object_id"):
        qs = qs.filter(object_id=str(f["object_id"]))
    if f.get("q"):
        qs = qs.filter(summary__icontains=f["q"])
    for key, lookup in (("since", "at__gte"), ("until", "at__lt")):
        value = f.get(key)
        if value:
            if isinstance(value, str):
                value = _parse_dt(value, key)
            qs = qs.filter(**{lookup: value})
    return qs.order_by("-at", "-id")


def _parse_dt(value: str, field: str) -> datetime:
    from django.utils import timezone
    from django.utils.dateparse import parse_date, parse_datetime

    dt = parse_datetime(value)
    if dt is None:
        d = parse_date(value)
        if d is not None:
            dt = datetime(d.year, d.month, d.day)
    if dt is None:
        raise InvalidDate(field=field)
    if timezone.is_naive(dt):
        dt = timezone.make_aware(dt)  # Asia/Shanghai, the display zone
    return dt


def notifications_for(*, user, unread_only: bool = False) -> QuerySet:
    qs = Notification.objects.filter(user=user)
    return qs.filter(read_at__isnull=True) if unread_only else qs


def notifications_unread_count(*, user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_channels_for(*, user) -> dict:
    """What the settings page shows the user about their outbound channels."""
    from django.conf import settings

    pref = NotificationPreference.objects.filter(user=user).first()
    enabled = outbox.enabled_channels()
    sms = outbox.sms_kinds()
    urgent = outbox.urgent_kinds() & sms
    return {
        "phone_masked": mask_phone(getattr(user, "phone", None)),
        "wechat_bound": ChannelBinding.objects.filter(user=user, channel=OutboundChannel.WECHAT).exists(),
        "sms_non_urgent": True if pref is None else pref.sms_non_urgent,
        "sms_urgent_kinds": sorted(urgent),
        "sms_other_kinds": sorted(sms - urgent),
        "enabled": sorted(enabled),
        "sms_on": OutboundChannel.SMS in enabled,
        "wechat_on": OutboundChannel.WECHAT in enabled,
        "public_url": getattr(settings, "YIZHAN_PUBLIC_URL", ""),
    }
