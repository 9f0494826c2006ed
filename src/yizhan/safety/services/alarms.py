"""Alarms (owner: rules helper): raised and re-triggered by the ingest, acknowledged and
cleared by the duty officer (or the system), through the ALARM workflow.

One open alarm per device and kind (the partial unique constraint ``safety_alarm_one_open``):
``alarm_trigger`` updates the open one (count, last time, a higher severity) or opens a new
one; two processes racing to open the same alarm end with one row and a count of two.
A new FIRE/SMOKE/GAS alarm starts a dispatch after commit; fire ranks 0 (every queue
orders by ``rank`` first), then critical 1, major 2, minor 3, warning 4.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from yizhan.core.audit import audit_entry, audit_record
from yizhan.core.events import event_emit
from yizhan.core.models import AuditAction, AuditLog
from yizhan.core.workflow import workflow_transition
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.safety.choices import (
    SEVERITY_RANK,
    AlarmAction,
    AlarmKind,
    AlarmState,
    IngestChannel,
    Severity,
)
from yizhan.safety.models import Alarm, AlarmEvent, Device
from yizhan.safety.rules import DISPATCH_KINDS
from yizhan.safety.services.dispatch import dispatch_start
from yizhan.safety.workflow import ALARM

log = logging.getLogger("yizhan.safety.alarms")

ALARM_RAISED = "safety.alarm_raised"  # core.events name, one per new alarm (aggregate: the alarm id)
NOTE_MAX = 300


def alarm_rank(kind: str, severity: str) -> int:
    if kind == AlarmKind.FIRE:
        return 0
    return 1 + SEVERITY_RANK.get(severity, 3)


def _ids(device) -> tuple[int, int, int]:
    """(device id, place id, jurisdiction id) of a Device or the ingest's DeviceFacts."""
    return device.id, device.place_id, device.jurisdiction_id


def _start_dispatch(alarm_id: int) -> None:
    alarm = Alarm.objects.select_related("device", "place", "jurisdiction").get(pk=alarm_id)
    dispatch_start(alarm=alarm)


def alarm_trigger(*, device, kind: str, severity: str, details: dict | None = None, channel: str = "",
                  received_at: datetime | None = None, at: datetime | None = None) -> tuple[Alarm, bool]:
    """Raise ``kind`` on ``device`` (system). Returns ``(alarm, created)``: the open alarm
    re-triggered (``trigger_count`` + 1, ``last_triggered_at``, details replaced, severity
    only ever raised) or a new one (timeline, audit row, ``safety.alarm_raised`` event and,
    for fire/smoke/gas, ``dispatch_start`` after commit)."""
    if kind not in AlarmKind.values:
        raise ValueError(f"unknown alarm kind {kind!r}")
    if severity not in Severity.values:
        raise ValueError(f"unknown severity {severity!r}")
    if channel and channel not in IngestChannel.values:
        raise ValueError(f"unknown channel {channel!r}")
    now = timezone.now()
    at = at or now
    details = dict(details or {})
    device_id, place_id, jurisdiction_id = _ids(device)
    with transaction.atomic():
        for _attempt in range(3):
            alarm = (Alarm.objects.select_for_update().filter(device_id=device_id, kind=kind, open=True).first())
            if alarm is not None:
                return _retrigger(alarm, severity=severity, details=details, at=at, now=now), False
            try:
                with transaction.atomic():
                    alarm = Alarm.objects.create(
                        device_id=device_id, place_id=place_id, jurisdiction_id=jurisdiction_id, kind=kind,
                        severity=severity, rank=alarm_rank(kind, severity), state=AlarmState.ACTIVE, open=True,
                        started_at=at, last_triggered_at=at, trigger_count=1, channel=channel, details=details,
                        received_at=received_at)
            except IntegrityError:
                continue  # another process opened it a moment ago: re-trigger that one
            AlarmEvent.objects.create(alarm=alarm, action=AlarmAction.RAISE, to_state=AlarmState.ACTIVE,
                                      data={"severity": severity, "channel": channel}, at=now)
            audit_record(actor=None, action=AuditAction.CREATE, obj=alarm,
                         summary=f"safety.alarm raise: {kind} {severity}",
                         changes={"action": "raise", "kind": kind, "severity": severity, "device": device_id},
                         jurisdiction_path=_path(device, jurisdiction_id))
            event_emit(name=ALARM_RAISED, aggregate_type="safety.alarm", aggregate_id=alarm.pk,
                       payload={"kind": kind, "severity": severity, "device": device_id, "rank": alarm.rank})
            if kind in DISPATCH_KINDS:
                transaction.on_commit(lambda alarm_id=alarm.pk: _start_dispatch(alarm_id), robust=True)
            return alarm, True
    raise RuntimeError("alarm_trigger: could not open or find the open alarm")  # pragma: no cover


def _path(device, jurisdiction_id) -> str:
    j = getattr(device, "jurisdiction_path", None)
    if j is not None:
        return j
    if isinstance(device, Device) and "jurisdiction" in device._state.fields_cache:
        return device.jurisdiction.path
    return Jurisdiction.objects.filter(pk=jurisdiction_id).values_list("path", flat=True).first() or ""


def _retrigger(alarm: Alarm, *, severity: str, details: dict, at: datetime, now: datetime) -> Alarm:
    alarm.trigger_count += 1
    if at > alarm.last_triggered_at:
        alarm.last_triggered_at = at
    fields = ["trigger_count", "last_triggered_at", "details", "updated_at"]
    if SEVERITY_RANK.get(severity, 9) < SEVERITY_RANK.get(alarm.severity, 9):
        alarm.severity = severity
        alarm.rank = alarm_rank(alarm.kind, severity)
        fields += ["severity", "rank"]
    alarm.details = {**alarm.details, **details}
    alarm.save(update_fields=fields)
    AlarmEvent.objects.create(alarm=alarm, action=AlarmAction.RETRIGGER, from_state=alarm.state,
                              to_state=alarm.state, data={"count": alarm.trigger_count, "severity": severity},
                              at=now)
    return alarm


def alarm_apply(alarm: Alarm, step) -> None:
    """ALARM workflow apply hook: the timestamps and who."""
    who = None if step.system else step.actor
    if step.to_state == AlarmState.ACKNOWLEDGED:
        alarm.acknowledged_at = step.now
        alarm.acknowledged_by = who
    elif step.to_state == AlarmState.CLEARED:
        alarm.open = False
        alarm.cleared_at = step.now
        alarm.cleared_by = who
        alarm.clear_note = step.note[:NOTE_MAX]
        if alarm.acknowledged_at is None and who is not None:
            alarm.acknowledged_at, alarm.acknowledged_by = step.now, who


def alarm_acknowledge(*, actor, alarm, note: str = "") -> Alarm:
    """The duty officer has seen it (active → acknowledged)."""
    return workflow_transition(ALARM, obj=alarm, action="acknowledge", actor=actor, note=(note or "")[:NOTE_MAX]).obj


def alarm_clear(*, actor, alarm, note: str = "", system: bool = False) -> Alarm:
    """Close the alarm (active/acknowledged → cleared); ``system=True`` when it cleared
    itself (device back online, fault gone, battery replaced)."""
    return workflow_transition(ALARM, obj=alarm, action="clear", actor=actor, note=(note or "")[:NOTE_MAX],
                               system=system).obj


def alarm_clear_open(*, device_id: int, kind: str, note: str = "") -> Alarm | None:
    """System clear of the device's open ``kind`` alarm if there is one (ingest, sweep)."""
    alarm = Alarm.objects.filter(device_id=device_id, kind=kind, open=True).only("pk").first()
    if alarm is None:
        return None
    try:
        return alarm_clear(actor=None, alarm=alarm, note=note, system=True)
    except ALARM.errors.invalid:  # cleared by someone else meanwhile
        return None


def alarms_raise_offline(devices, *, at: datetime) -> int:
    """Bulk OFFLINE alarms for devices the sweep just marked offline (``devices``: dicts
    with at least ``id``); a device that already has an open one is skipped by the unique
    constraint. Three statements per batch whatever its size (INSERT ... SELECT from the
    devices, the timeline rows likewise, one audit row per community): a broker outage
    takes thousands offline in the same second."""
    ids = [d["id"] if isinstance(d, dict) else int(d) for d in devices]
    if not ids:
        return 0
    severity = Severity.MINOR
    q = connection.ops.quote_name
    ts = connection.ops.adapt_datetimefield_value(at)
    marks = ", ".join(["%s"] * len(ids))
    if connection.vendor == "postgresql":
        details = "jsonb_build_object('last_seen_at', d.last_seen_at, 'heartbeat_interval', d.heartbeat_interval)"
    else:
        details = "json_object('last_seen_at', d.last_seen_at, 'heartbeat_interval', d.heartbeat_interval)"
    cols = ["created_at", "updated_at", "device_id", "place_id", "jurisdiction_id", "kind", "severity", "rank",
            "state", "open", "started_at", "last_triggered_at", "trigger_count", "clear_note", "channel", "details"]
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {q(Alarm._meta.db_table)} ({', '.join(q(c) for c in cols)}) "
            f"SELECT %s, %s, d.id, d.place_id, d.jurisdiction_id, %s, %s, %s, %s, %s, %s, %s, 1, '', '', {details} "
            f"FROM {q(Device._meta.db_table)} d WHERE d.id IN ({marks}) ON CONFLICT DO NOTHING",
            [ts, ts, AlarmKind.OFFLINE, severity, alarm_rank(AlarmKind.OFFLINE, severity), AlarmState.ACTIVE, True,
             ts, ts, *ids])
        created = list(Alarm.objects.filter(device_id__in=ids, kind=AlarmKind.OFFLINE, open=True, started_at=at)
                       .values_list("id", "device_id", "jurisdiction__path"))
        if not created:
            return 0
        ecols = ["alarm_id", "action", "from_state", "to_state", "note", "data", "at"]
        amarks = ", ".join(["%s"] * len(created))
        cur.execute(
            f"INSERT INTO {q(AlarmEvent._meta.db_table)} ({', '.join(q(c) for c in ecols)}) "
            f"SELECT a.id, %s, '', %s, '', %s, %s FROM {q(Alarm._meta.db_table)} a WHERE a.id IN ({amarks})",
            [AlarmAction.RAISE, AlarmState.ACTIVE, '{"offline": true}', ts, *[c[0] for c in created]])
        _audit_batch(created, action=AuditAction.CREATE, summary=f"safety.alarm raise offline: {len(created)} devices",
                     changes={"action": "raise", "kind": "offline"})
    return len(created)


def _audit_batch(rows, *, action: str, summary: str, changes: dict) -> None:
    """One audit row per community for a bulk system change (the alarms' own timeline rows
    hold each one): ``rows`` are (alarm id, device id, jurisdiction path, ...)."""
    by_path: dict[str, list] = {}
    for a, d, p, *_rest in rows:
        by_path.setdefault(p, []).append((a, d))
    AuditLog.objects.bulk_create([
        audit_entry(actor=None, action=action, object_type="safety.alarm", object_id="",
                    summary=summary, jurisdiction_path=path,
                    changes={**changes, "count": len(items), "alarms": [a for a, _d in items[:500]],
                             "devices": [d for _a, d in items[:500]]})
        for path, items in by_path.items()])


def alarms_clear_offline(device_ids, *, at: datetime) -> int:
    """Bulk system clear of the OFFLINE alarms of devices that are back online: the same
    rows the ALARM workflow's clear writes (state, ``open``, ``cleared_at``, note, the
    timeline and audit rows), a few statements whatever the number (a broker restart
    brings thousands back in one second)."""
    device_ids = list(device_ids)
    if not device_ids:
        return 0
    note = "设备恢复在线 device back online"
    with transaction.atomic():
        qs = Alarm.objects.filter(device_id__in=device_ids, kind=AlarmKind.OFFLINE, open=True)
        rows = list(qs.select_for_update(of=("self",)).values_list("id", "state", "device_id", "jurisdiction__path")
                    if _locks() else qs.values_list("id", "state", "device_id", "jurisdiction__path"))
        if not rows:
            return 0
        ids = [r[0] for r in rows]
        Alarm.objects.filter(id__in=ids, open=True).update(state=AlarmState.CLEARED, open=False, cleared_at=at,
                                                           clear_note=note, updated_at=at)
        AlarmEvent.objects.bulk_create([AlarmEvent(alarm_id=a, action=AlarmAction.CLEAR, from_state=state,
                                                   to_state=AlarmState.CLEARED, note=note, at=at)
                                        for a, state, _d, _p in rows])
        _audit_batch([(a, d, p) for a, _state, d, p in rows], action=AuditAction.UPDATE,
                     summary=f"safety.alarm clear offline (back online): {len(rows)} devices",
                     changes={"action": "clear", "kind": "offline", "state": "cleared"})
    return len(rows)


def _locks() -> bool:
    return connection.features.has_select_for_update
