"""The grid duty roster."""

from __future__ import annotations

import re
from datetime import time

from django.db import transaction

from yizhan.core import permissions
from yizhan.core.audit import audit_record
from yizhan.core.models import AuditAction
from yizhan.jurisdictions.choices import Level
from yizhan.reports.models import GridDuty
from yizhan.reports.services.setup.common import (
    DutyTimesEqual,
    InvalidTime,
    InvalidWeekdays,
    NotAGrid,
    NotAGridWorker,
    _require_scope,
)

__all__ = ["grid_duty_set", "grid_duty_remove"]


# ---- grid duty roster ------------------------------------------------------------------


def _clean_time(value, *, field: str) -> time:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    m = re.match(r"^([01]?\d|2[0-3]):([0-5]\d)$", str(value or "").strip())
    if not m:
        raise InvalidTime(field=field)
    return time(int(m.group(1)), int(m.group(2)))


def _clean_weekdays(value) -> list[int]:
    if isinstance(value, str):
        value = [v for v in re.split(r"[,，\s]+", value) if v]
    try:
        days = sorted({int(v) for v in (value or [])})
    except (TypeError, ValueError):
        days = [-1]
    if not days or any(d < 0 or d > 6 for d in days):
        raise InvalidWeekdays()
    return days


def grid_duty_set(*, actor, grid, user, weekdays: list[int], start_time, end_time) -> GridDuty:
    """Put ``user`` (a grid worker of ``grid``) on duty on ``weekdays`` (0 = Monday)
    from ``start_time`` to ``end_time`` (Asia/Shanghai; end before start runs past
    midnight). One row per grid and person: setting again replaces it."""
    _require_scope(actor, grid)
    if grid.level != Level.GRID:
        raise NotAGrid(field="grid")
    if user is None or not getattr(user, "pk", None) or not permissions.has_role(user, "grid_worker") \
            or not permissions.can(user, "reports.handle", grid):
        raise NotAGridWorker(field="user")
    days = _clean_weekdays(weekdays)
    start = _clean_time(start_time, field="start_time")
    end = _clean_time(end_time, field="end_time")
    if start == end:
        raise DutyTimesEqual()
    with transaction.atomic():
        duty = GridDuty.objects.select_for_update().filter(grid=grid, user=user).order_by("pk").first()
        created = duty is None
        if created:
            duty = GridDuty(grid=grid, user=user)
        old = {} if created else {"weekdays": duty.weekdays, "start_time": duty.start_time.strftime("%H:%M"),
                                  "end_time": duty.end_time.strftime("%H:%M")}
        duty.weekdays, duty.start_time, duty.end_time = days, start, end
        duty.save()
        GridDuty.objects.filter(grid=grid, user=user).exclude(pk=duty.pk).delete()
        audit_record(actor=actor, action=AuditAction.CREATE if created else AuditAction.UPDATE, obj=duty,
                     summary=f"duty of {user.get_username()} on grid {grid.code}",
                     changes={"old": old, "new": {"weekdays": days, "start_time": start.strftime("%H:%M"),
                                                  "end_time": end.strftime("%H:%M")}},
                     jurisdiction_path=grid.path)
    return duty


def grid_duty_remove(*, actor, duty: GridDuty) -> None:
    _require_scope(actor, duty.grid)
    with transaction.atomic():
        audit_record(actor=actor, action=AuditAction.DELETE, obj=duty,
                     summary=f"duty of {duty.user.get_username()} on grid {duty.grid.code} removed",
                     jurisdiction_path=duty.grid.path)
        duty.delete()
