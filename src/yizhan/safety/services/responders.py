"""Responders: registering a person who can be sent to alarms, going on and off duty,
and position updates from the phone page.

Position pings (every few seconds while the page is open) write no audit row: they
are not decisions, and the responder's own ``position_at`` records the last one.
Registering and duty on/off are audited.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from yizhan.core import permissions
from yizhan.core.audit import audit_record
from yizhan.core.errors import NotAuthenticated
from yizhan.core.geo import validate_lat_lng
from yizhan.core.models import AuditAction
from yizhan.safety import errors as E
from yizhan.safety.choices import PlaceKind, ResponderKind
from yizhan.safety.models import Place, Responder

MAX_SKILLS = 20


def _login(actor) -> None:
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()


def _position(lat, lng, *, required: bool):
    if lat in (None, "") and lng in (None, ""):
        if required:
            raise E.PositionRequired()
        return None
    return validate_lat_lng(lat, lng)


def responder_register(*, actor, user, kind: str, jurisdiction, station=None, skills=(), on_duty: bool = False,
                       lat=None, lng=None) -> Responder:
    """Make ``user`` a responder of ``jurisdiction`` (a manager's act: ``safety.manage``)."""
    _login(actor)
    permissions.require(actor, "safety.manage", jurisdiction)
    if kind not in ResponderKind.values:
        raise E.InvalidResponderKind()
    user_model = get_user_model()
    if not isinstance(user, user_model):
        user = user_model.objects.filter(pk=user, is_active=True).first() if str(user or "").isdigit() else None
        if user is None:
            raise E.ResponderUserNotFound()
    if station is not None:
        if not isinstance(station, Place):
            station = Place.objects.filter(pk=station).select_related("jurisdiction").first() \
                if str(station).isdigit() else Place.objects.filter(code=station).select_related("jurisdiction").first()
        if station is None or station.kind != PlaceKind.MICRO_STATION:
            raise E.NotAStation()
        permissions.require(actor, "safety.manage", station.jurisdiction)
    skills = [str(s).strip()[:40] for s in (skills or ()) if str(s).strip()][:MAX_SKILLS]
    position = _position(lat, lng, required=False)
    if position is None and station is not None:
        position = (station.lat, station.lng)
    with transaction.atomic():
        try:
            with transaction.atomic():
                r = Responder.objects.create(
                    user=user, kind=kind, station=station, jurisdiction=jurisdiction, skills=skills,
                    on_duty=bool(on_duty) and position is not None,
                    lat=position[0] if position else None, lng=position[1] if position else None,
                    position_at=timezone.now() if position else None)
        except IntegrityError:
            raise E.ResponderExists() from None
        audit_record(actor=actor, action=AuditAction.CREATE, obj=r, summary=f"responder {user.pk} {kind}",
                     changes={"user": user.pk, "kind": kind, "station": station.pk if station else None},
                     jurisdiction_path=jurisdiction.path)
    return r


def _mine(actor) -> Responder:
    _login(actor)
    r = Responder.objects.filter(user=actor).select_related("station", "jurisdiction").first()
    if r is None:
        raise E.ResponderNotFound()
    return r


def responder_duty_set(*, actor, on_duty: bool, lat=None, lng=None) -> Responder:
    """The actor goes on duty (with a position: the phone's, else their station's) or off."""
    r = _mine(actor)
    position = _position(lat, lng, required=False)
    if on_duty and position is None:
        if r.station_id:
            position = (r.station.lat, r.station.lng)
        else:
            raise E.PositionRequired()
    now = timezone.now()
    with transaction.atomic():
        fields = {"on_duty": bool(on_duty), "updated_at": now}
        if position is not None:
            fields.update(lat=position[0], lng=position[1], position_at=now)
        Responder.objects.filter(pk=r.pk).update(**fields)
        for k, v in fields.items():
            setattr(r, k, v)
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=r,
                     summary=f"responder {r.pk} {'on' if on_duty else 'off'} duty",
                     changes={"on_duty": bool(on_duty)}, jurisdiction_path=r.jurisdiction.path)
    return r


def responder_position_update(*, actor, lat, lng) -> Responder:
    """The actor's latest position (the phone page sends it while open)."""
    r = _mine(actor)
    lat, lng = _position(lat, lng, required=True)
    now = timezone.now()
    Responder.objects.filter(pk=r.pk).update(lat=lat, lng=lng, position_at=now, updated_at=now)
    r.lat, r.lng, r.position_at = lat, lng, now
    return r
