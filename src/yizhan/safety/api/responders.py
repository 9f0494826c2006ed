"""Fire-safety API: responders.

    GET  /api/v1/safety/responders?on_duty=true          duty officers and managers, in scope
    POST /api/v1/safety/responders                       managers: {"user", "kind", "jurisdiction", "station"}
    POST /api/v1/safety/responders/me/duty               {"on_duty": true, "lat", "lng"}
    POST /api/v1/safety/responders/me/position           {"lat", "lng"}
    GET  /api/v1/safety/responders/me                    my responder row and open assignments
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status
from pydantic import Field

from yizhan.core.errors import NotAuthenticated
from yizhan.core.permissions import jurisdiction_model
from yizhan.core.schemas import Id, LimitQuery, OffsetQuery
from yizhan.safety import errors as E
from yizhan.safety.api.dispatch import assignment_out
from yizhan.safety.models import Responder
from yizhan.safety.selectors import dispatch as selectors
from yizhan.safety.services import responders as services

router = Router(tags=["safety"])


def responder_out(r: Responder) -> dict:
    return {
        "id": r.pk, "user": {"id": r.user_id, "name": r.user.display_name or r.user.username},
        "kind": r.kind, "station": {"id": r.station_id, "code": r.station.code, "name": r.station.name}
        if r.station_id else None,
        "jurisdiction": {"code": r.jurisdiction.code, "name": r.jurisdiction.name},
        "on_duty": r.on_duty, "lat": r.lat, "lng": r.lng,
        "position_at": r.position_at.isoformat() if r.position_at else None, "skills": r.skills,
    }


def _fresh(r: Responder) -> Responder:
    return Responder.objects.select_related("user", "station", "jurisdiction").get(pk=r.pk)


@router.get("/responders", summary="Responders in scope (duty officers, managers)")
def responder_list(request: HttpRequest, on_duty: bool | None = None, limit: int = LimitQuery(100),
                   offset: int = OffsetQuery()):
    items, count = selectors.responder_list(user=request.user, on_duty=on_duty, limit=limit, offset=offset)
    return {"items": [responder_out(r) for r in items], "count": count}


class SafetyResponderIn(Schema):
    user: Id
    kind: str = Field(max_length=20)
    jurisdiction: str = Field(max_length=64, description="jurisdiction code")
    station: str | None = Field(None, max_length=32, description="micro fire station place code")
    skills: list[str] = Field(default_factory=list, max_length=20)
    on_duty: bool = False
    lat: float | None = None
    lng: float | None = None


@router.post("/responders", response={201: dict}, summary="Register a responder (managers)")
def responder_create(request: HttpRequest, body: SafetyResponderIn):
    if not request.user.is_authenticated:
        raise NotAuthenticated()
    node = jurisdiction_model().objects.filter(code=body.jurisdiction).first()
    if node is None:
        raise E.UnknownJurisdiction()
    r = services.responder_register(actor=request.user, user=body.user, kind=body.kind, jurisdiction=node,
                                    station=body.station, skills=body.skills, on_duty=body.on_duty,
                                    lat=body.lat, lng=body.lng)
    return Status(201, responder_out(_fresh(r)))


class SafetyDutyIn(Schema):
    on_duty: bool
    lat: float | None = None
    lng: float | None = None


class SafetyPositionIn(Schema):
    lat: float
    lng: float


@router.get("/responders/me", summary="My responder row and my open assignments",
            openapi_extra={"x-errors": [404]})  # 404: not registered as a responder
def responder_me(request: HttpRequest):
    r = selectors.responder_of(request.user)
    if r is None:
        raise E.ResponderNotFound()
    items = selectors.my_assignments(user=request.user)
    for a in items:
        a.responder = r
    return {"responder": responder_out(_fresh(r)), "assignments": [assignment_out(a) for a in items]}


@router.post("/responders/me/duty", summary="Go on duty (with a position) or off duty")
def responder_duty(request: HttpRequest, body: SafetyDutyIn):
    r = services.responder_duty_set(actor=request.user, on_duty=body.on_duty, lat=body.lat, lng=body.lng)
    return responder_out(_fresh(r))


@router.post("/responders/me/position", summary="My current position (the phone page sends it)")
def responder_position(request: HttpRequest, body: SafetyPositionIn):
    r = services.responder_position_update(actor=request.user, lat=body.lat, lng=body.lng)
    return responder_out(_fresh(r))
