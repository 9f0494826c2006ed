"""Fire-safety API: dispatches, assignment steps and the monthly report.

    GET  /api/v1/safety/dispatches?state=active|open|on_scene|resolved
    GET  /api/v1/safety/dispatches/{id}
    POST /api/v1/safety/dispatches/{id}/confirm_fire          (forward to 119 now)
    POST /api/v1/safety/dispatches/{id}/stand_down            {"note"}: everyone stood down, a false alarm
    POST /api/v1/safety/assignments/{id}/{action}             acknowledge|en_route|arrive|resolve|stand_down
         {"lat", "lng", "outcome", "note", "category"}
    GET  /api/v1/safety/reports/monthly?month=YYYY-MM
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from yizhan.core.schemas import Id, LimitQuery, OffsetQuery
from yizhan.safety import errors as E
from yizhan.safety.models import Assignment, Dispatch
from yizhan.safety.selectors import dispatch as selectors
from yizhan.safety.services import dispatch as services
from yizhan.safety.workflow import ASSIGNMENT_ACTIONS

router = Router(tags=["safety"])


def _t(value: datetime | None):
    return value.isoformat() if value else None


def assignment_out(a: Assignment) -> dict:
    user = a.responder.user
    return {
        "id": a.pk, "dispatch": a.dispatch_id, "state": a.state, "wave": a.wave,
        "responder": {"id": a.responder_id, "name": user.display_name or user.username, "kind": a.responder.kind},
        "distance_m": a.distance_m, "travel_seconds": a.travel_seconds,
        "notified_at": _t(a.notified_at), "acknowledged_at": _t(a.acknowledged_at), "en_route_at": _t(a.en_route_at),
        "arrived_at": _t(a.arrived_at), "arrived_distance_m": a.arrived_distance_m, "resolved_at": _t(a.resolved_at),
    }


def dispatch_out(d: Dispatch, *, assignments: bool = True) -> dict:
    alarm = d.alarm
    place = alarm.device.place
    out = {
        "id": d.pk, "state": d.state, "outcome": d.outcome or None, "outcome_note": d.outcome_note, "wave": d.wave,
        "alarm": {"id": alarm.pk, "kind": alarm.kind, "severity": alarm.severity, "state": alarm.state,
                  "device": alarm.device.code},
        "place": {"id": place.pk, "code": place.code, "name": place.name, "address": place.address,
                  "lat": place.lat, "lng": place.lng, "kind": place.kind},
        "jurisdiction": {"code": d.jurisdiction.code, "name": d.jurisdiction.name},
        "alarm_at": _t(d.created_at_alarm), "notified_at": _t(d.notified_at), "first_ack_at": _t(d.first_ack_at),
        "first_en_route_at": _t(d.first_en_route_at), "first_arrived_at": _t(d.first_arrived_at),
        "resolved_at": _t(d.resolved_at), "escalated_at": _t(d.escalated_at),
        "forwarded_119_at": _t(d.forwarded_119_at), "forward_119_status": d.forward_119_status,
        "case": d.case.number if d.case_id else None,
        "seconds_to_arrival": (d.first_arrived_at - d.created_at_alarm).total_seconds() if d.first_arrived_at else None,
    }
    if assignments:
        out["assignments"] = [assignment_out(a) for a in d.assignments.all()]
    return out


@router.get("/dispatches", summary="Dispatches in scope (newest first)")
def dispatch_list(request: HttpRequest, state: str = "", limit: int = LimitQuery(50), offset: int = OffsetQuery()):
    items, count = selectors.dispatch_list(user=request.user, state=state or None, limit=limit, offset=offset)
    return {"items": [dispatch_out(d) for d in items], "count": count}


@router.get("/dispatches/{dispatch_id}", summary="One dispatch with its assignments and every timestamp")
def dispatch_detail(request: HttpRequest, dispatch_id: Id):
    return dispatch_out(selectors.dispatch_get(user=request.user, dispatch_id=dispatch_id))


@router.post("/dispatches/{dispatch_id}/confirm_fire", summary="Confirm a fire: forward it to 119 now")
def dispatch_confirm_fire(request: HttpRequest, dispatch_id: Id):
    d = selectors.dispatch_get(user=request.user, dispatch_id=dispatch_id)
    services.dispatch_confirm_fire(actor=request.user, dispatch=d)
    return dispatch_out(selectors.dispatch_get(user=request.user, dispatch_id=dispatch_id))


class SafetyNoteIn(Schema):
    note: str = Field("", max_length=500)


@router.post("/dispatches/{dispatch_id}/stand_down",
             summary="End a dispatch nobody resolved (alarm checked and cleared): everyone stood down")
def dispatch_stand_down(request: HttpRequest, dispatch_id: Id, body: SafetyNoteIn | None = None):
    d = selectors.dispatch_get(user=request.user, dispatch_id=dispatch_id)
    services.dispatch_stand_down(actor=request.user, dispatch=d, note=(body.note if body else ""))
    return dispatch_out(selectors.dispatch_get(user=request.user, dispatch_id=dispatch_id))


class SafetyActIn(Schema):
    lat: float | None = None
    lng: float | None = None
    outcome: str | None = Field(None, max_length=20)
    note: str = Field("", max_length=500)
    category: str | None = Field(None, max_length=40)


@router.post("/assignments/{assignment_id}/{action}", summary="A responder's step on their assignment")
def assignment_action(request: HttpRequest, assignment_id: Id, action: str, body: SafetyActIn | None = None):
    if action not in ASSIGNMENT_ACTIONS:
        raise E.InvalidAssignmentAction()
    body = body or SafetyActIn()
    a = selectors.assignment_get(user=request.user, assignment_id=assignment_id)
    row = services.assignment_act(actor=request.user, assignment=a, action=action, lat=body.lat, lng=body.lng,
                                  outcome=body.outcome, note=body.note, category=body.category)
    a = selectors.assignment_get(user=request.user, assignment_id=row.pk)
    out = assignment_out(a)
    out["dispatch_state"] = a.dispatch.state
    out["case"] = a.dispatch.case.number if a.dispatch.case_id else None
    return out


@router.get("/reports/monthly", summary="Monthly response report per community (on site ≤ 3 min, p50/p90)")
def monthly_report(request: HttpRequest, month: str = ""):
    return selectors.monthly_report(user=request.user, month=month)
