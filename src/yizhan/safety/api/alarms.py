"""Fire-safety API: alarms and the wall's counts.

    GET  /api/v1/safety/alarms?state=active&device=HZ-00001&kind=smoke&limit&offset
         -> {"items": [{"id", "device", "kind", "severity", "state", "started_at",
             "acknowledged_at", "cleared_at", "place", "trigger_count", "details", ...}], "count"}
    GET  /api/v1/safety/alarms/{id}
    POST /api/v1/safety/alarms/{id}/acknowledge   {"note"?}   (safety.duty)
    POST /api/v1/safety/alarms/{id}/clear         {"note"?}   (safety.duty)
    GET  /api/v1/safety/summary  -> {online, offline, new, alarm, total, active_alarms (open), unacknowledged, fire}

Reads need ``safety.view`` and see only their jurisdictions (another community's alarm
is a 404); acknowledge/clear need ``safety.duty`` on the alarm's community.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from yizhan.core import permissions
from yizhan.core.schemas import Id, LimitQuery, OffsetQuery
from yizhan.safety.choices import AlarmKind, AlarmState
from yizhan.safety.errors import InvalidAlarmKind, InvalidAlarmState
from yizhan.safety.selectors import alarms as selectors
from yizhan.safety.selectors.wall import alarm_dict, wall_counts
from yizhan.safety.services import alarms as services

router = Router(tags=["safety"])

VIEW, DUTY = "safety.view", "safety.duty"
STATES = (*AlarmState.values, "open")  # open = active or acknowledged


class AlarmPlaceRef(Schema):
    code: str
    name: str
    kind: str
    address: str
    lat: float
    lng: float


class AlarmOut(Schema):
    id: int
    device: str
    device_kind: str
    kind: str
    kind_label: str
    severity: str
    severity_label: str
    rank: int
    state: str
    state_label: str
    open: bool
    started_at: str
    last_triggered_at: str | None
    acknowledged_at: str | None
    cleared_at: str | None
    place: AlarmPlaceRef
    location: str
    trigger_count: int
    channel: str
    details: dict[str, Any]


class AlarmListOut(Schema):
    items: list[AlarmOut]
    count: int


class NoteIn(Schema):
    note: str = Field("", max_length=300)


class AlarmSummaryOut(Schema):
    online: int
    offline: int
    new: int
    alarm: int
    total: int
    active_alarms: int
    unacknowledged: int
    fire: int


def _visible(user, alarm_id: int):
    permissions.require(user, VIEW)
    return selectors.alarm_get(user=user, alarm_id=alarm_id)


@router.get("/alarms", response=AlarmListOut, summary="Alarms in scope, fire first (rank), newest first")
def alarm_list(
    request: HttpRequest,
    state: str = "",
    device: str = "",
    kind: str = "",
    limit: int = LimitQuery(50),
    offset: int = OffsetQuery(),
):
    permissions.require(request.user, VIEW)
    if state and state not in STATES:
        raise InvalidAlarmState()
    if kind and kind not in AlarmKind.values:
        raise InvalidAlarmKind()
    items, count = selectors.alarm_list(user=request.user, state=state or None, device=device.strip() or None,
                                        kind=kind or None, limit=limit, offset=offset)
    return {"items": [alarm_dict(a) for a in items], "count": count}


@router.get("/alarms/{alarm_id}", response=AlarmOut, summary="One alarm")
def alarm_detail(request: HttpRequest, alarm_id: Id):
    return alarm_dict(_visible(request.user, alarm_id))


@router.post("/alarms/{alarm_id}/acknowledge", response=AlarmOut, summary="Acknowledge an alarm (duty officer)")
def alarm_acknowledge(request: HttpRequest, alarm_id: Id, body: NoteIn | None = None):
    alarm = _visible(request.user, alarm_id)
    permissions.require(request.user, DUTY, alarm.jurisdiction.path)
    alarm = services.alarm_acknowledge(actor=request.user, alarm=alarm, note=(body.note if body else "").strip())
    return alarm_dict(alarm)


@router.post("/alarms/{alarm_id}/clear", response=AlarmOut, summary="Clear an alarm (duty officer)")
def alarm_clear(request: HttpRequest, alarm_id: Id, body: NoteIn | None = None):
    alarm = _visible(request.user, alarm_id)
    permissions.require(request.user, DUTY, alarm.jurisdiction.path)
    alarm = services.alarm_clear(actor=request.user, alarm=alarm, note=(body.note if body else "").strip())
    return alarm_dict(alarm)


@router.get("/summary", response=AlarmSummaryOut, summary="Devices online/offline/in alarm and open alarms in scope")
def summary(request: HttpRequest):
    permissions.require(request.user, VIEW)
    return wall_counts(user=request.user, perm=VIEW)
