"""Telling people things.

``notify`` writes the in-app inbox row in the caller's transaction and queues the
outbound copies (SMS, WeChat, webhooks, console/file in development) in the same
transaction; they are delivered after commit by ``core.outbox`` (a django-tasks task
plus the scheduler's sweep, with retries). A rolled-back change tells nobody.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from yizhan.core.errors import Message
from yizhan.core.manifest import notification_kinds
from yizhan.core.models import Notification
from yizhan.core.outbox import outbound_queue

# What people see on the settings page for each kind (the ones the apps use today).
KIND_LABELS = {
    "case_new": _("新的随手拍"),
    "case_accepted": _("已立案"),
    "case_rejected": _("不予立案"),
    "case_dispatched": _("派给我的工单"),
    "case_handled": _("已处置，请确认"),
    "case_closed": _("已结案"),
    "case_due_soon": _("工单即将超时"),
    "case_overdue": _("工单已超时"),
    "case_escalated": _("超时升级"),
    "case_returned": _("退单"),
    "case_extension": _("延期申请"),
    "stock_low": _("物资不足"),
    "station_condition": _("驿站状况反馈"),
}


def kind_label(kind: str) -> str:
    """The kind's name for people: the platform's own, else the declaring app's manifest."""
    if kind in KIND_LABELS:
        return str(KIND_LABELS[kind])
    declared = notification_kinds().get(kind)
    return str(declared.label) if declared else kind


def notify(*, user, kind: str, title: Message, body: Message | None = None, url: str = "",
           jurisdiction=None) -> Notification:
    """Tell ``user`` about ``kind``. ``jurisdiction`` (optional: a Jurisdiction or its
    path) is where it happened — the webhooks of that node and its ancestors receive it;
    without it, those of the user's own jurisdictions do."""
    notification = Notification.objects.create(
        user=user,
        kind=kind,
        title_zh=title.zh,
        title_en=title.en,
        body_zh=body.zh if body else "",
        body_en=body.en if body else "",
        url=url,
    )
    outbound_queue(notification=notification, jurisdiction=jurisdiction)
    return notification
