"""Scheduled jobs of the needs app (``core.scheduler``; ``yizhan scheduler`` runs them)."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from yizhan.core.audit import audit_record
from yizhan.core.errors import Message
from yizhan.core.models import AuditAction
from yizhan.core.notifications import notify
from yizhan.core.scheduler import every
from yizhan.needs.models import Need
from yizhan.needs.selectors import overdue_q


def need_overdue_notify(*, today: date | None = None, limit: int = 500) -> int:
    """Tell the owner of each need that has just become overdue (open or in progress,
    due date before today, Asia/Shanghai), once per due date: ``overdue_notified_for``
    records the due date that was announced, so a rerun tells nobody twice and a new
    due date (reassigned) can warn again. The marker is set by a conditional UPDATE in
    the same transaction as the notice, so two schedulers cannot both send it.
    Returns how many owners were told."""
    today = today or timezone.localdate()
    not_told = (Q(overdue_notified_for__isnull=True) | Q(overdue_notified_for__lt=F("due_on"))
                | Q(overdue_notified_for__gt=F("due_on")))
    due = list(Need.objects.filter(overdue_q(today) & not_told).order_by("due_on", "id").values_list("pk", flat=True)[:limit])
    told = 0
    for pk in due:
        with transaction.atomic():
            claimed = Need.objects.filter(Q(pk=pk) & overdue_q(today) & not_told).update(
                overdue_notified_for=F("due_on"))
            if not claimed:
                continue  # solved, moved or told meanwhile
            need = Need.objects.select_related("owner", "jurisdiction").get(pk=pk)
            days = (today - need.due_on).days
            if need.owner_id is None:  # the owner deleted their account: nobody to tell yet
                continue
            notify(
                user=need.owner, kind="need_overdue",
                title=Message(f"需求已超期：{need.title[:40]}", f"Need overdue: {need.title[:40]}"),
                body=Message(f"办理期限 {need.due_on}，已超期 {days} 天", f"Due on {need.due_on}, {days} day(s) overdue"),
                url=f"/needs/staff/needs/{need.pk}/", jurisdiction=need.jurisdiction,
            )
            audit_record(actor=None, action=AuditAction.UPDATE, obj=need, summary="need overdue notice",
                         changes={"overdue_notified_for": need.due_on.isoformat()},
                         jurisdiction_path=need.jurisdiction.path)
            told += 1
    return told


@every(15 * 60)
def need_overdue() -> int:
    """Owners hear once when their need goes past its due date (idempotent)."""
    return need_overdue_notify()
