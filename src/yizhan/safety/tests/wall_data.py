"""Rows the wall's tests build directly (alarms, a dispatch with assignments), so they
do not depend on the ingest or on dispatch's choice of responders."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from yizhan.safety.choices import SEVERITY_RANK, AlarmKind, AssignmentState, Severity
from yizhan.safety.models import Alarm, Assignment, Dispatch


def make_alarm(device, kind=AlarmKind.SMOKE, severity=Severity.CRITICAL, *, ago: int = 0, state="active", **extra):
    at = timezone.now() - timedelta(seconds=ago)
    rank = 0 if kind == AlarmKind.FIRE else 1 + SEVERITY_RANK.get(severity, 3)
    return Alarm.objects.create(
        device=device, place=device.place, jurisdiction=device.jurisdiction, kind=kind, severity=severity,
        rank=rank, state=state, open=state != "cleared", started_at=at, last_triggered_at=at,
        received_at=at, channel="mqtt", details=extra.pop("details", {"smoke_obscuration": 0.2}), **extra)


def make_dispatch(alarm, responders, *, notified_ago: int = 0):
    now = timezone.now()
    d = Dispatch.objects.create(alarm=alarm, jurisdiction=alarm.jurisdiction, created_at_alarm=alarm.started_at,
                                notified_at=now - timedelta(seconds=notified_ago))
    rows = [Assignment.objects.create(dispatch=d, responder=r, state=AssignmentState.NOTIFIED, travel_seconds=60 + i,
                                      distance_m=200, notified_at=d.notified_at)
            for i, r in enumerate(responders)]
    return d, rows
