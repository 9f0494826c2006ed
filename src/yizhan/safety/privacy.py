"""What the fire-safety app (智慧消防) stores about a person, for the PIPL export and
erasure (``accounts.services.account_export`` / ``account_delete`` call these through
the manifest's ``privacy`` module: ``EXPORTS`` and ``erase``).

Export (``safety_*`` keys, plain JSON, times ISO 8601 with offset):
* ``safety_responder`` — their responder record: kind, station, on duty, last position
  and when, and their assignments (alarm kind, the four steps' times, outcome);
* ``safety_inspections`` — the 331 checks they recorded (place code, time, result, state,
  follow-up deadline);
* ``safety_alarm_actions`` — alarms they acknowledged or cleared (id, kind, times);
* ``safety_landlord_of`` — places whose landlord phone is theirs (code, name, the name
  and phone kept there).

Erasure (inside ``account_delete``'s transaction; the user row stays as an anonymous
shell). The district's records stay — an inspection, an alarm's timeline, a dispatch's
times feed the monthly report and GB 26875's six months — but no longer point at them:
* the responder row loses ``user`` and its position, goes off duty (its assignments keep
  their times for the report);
* inspections lose ``inspector``; alarms lose ``acknowledged_by`` / ``cleared_by``; the
  alarm and assignment timelines lose ``actor``;
* a place whose landlord phone is theirs loses the landlord's name and phone;
* free texts that name them (findings, notes, clear notes, outcome notes, landlord
  names, inspection rooms) have the name replaced by "已注销用户".
"""

from __future__ import annotations

from yizhan.core.privacy import identifiers, scrub_rows
from yizhan.safety.models import (
    Alarm,
    AlarmEvent,
    Assignment,
    AssignmentEvent,
    Dispatch,
    Inspection,
    Place,
    Responder,
)


def _iso(value):
    return value.isoformat() if value is not None else None


# ---- export ----------------------------------------------------------------------------


def export_responder(user) -> tuple[str, list[dict]]:
    responder = Responder.objects.select_related("station").filter(user=user).first()
    if responder is None:
        return "safety_responder", []
    assignments = (Assignment.objects.filter(responder=responder).select_related("dispatch__alarm")
                   .order_by("notified_at", "id"))
    return "safety_responder", [{
        "kind": responder.kind, "station": responder.station.code if responder.station_id else None,
        "on_duty": responder.on_duty, "lat": responder.lat, "lng": responder.lng,
        "position_at": _iso(responder.position_at), "skills": responder.skills,
        "assignments": [
            {"id": a.pk, "alarm_kind": a.dispatch.alarm.kind, "state": a.state, "notified_at": _iso(a.notified_at),
             "acknowledged_at": _iso(a.acknowledged_at), "en_route_at": _iso(a.en_route_at),
             "arrived_at": _iso(a.arrived_at), "resolved_at": _iso(a.resolved_at),
             "outcome": a.dispatch.outcome}
            for a in assignments
        ],
    }]


def export_inspections(user) -> tuple[str, list[dict]]:
    rows = Inspection.objects.filter(inspector=user).select_related("place").order_by("inspected_at", "id")
    return "safety_inspections", [
        {"id": i.pk, "place": i.place.code, "inspected_at": _iso(i.inspected_at), "result": i.result,
         "state": i.state, "follow_up_due": i.follow_up_due.isoformat() if i.follow_up_due else None,
         "rooms": len(i.rooms), "findings": i.findings}
        for i in rows
    ]


def export_alarm_actions(user) -> tuple[str, list[dict]]:
    out = []
    for a in Alarm.objects.filter(acknowledged_by=user).order_by("acknowledged_at", "id"):
        out.append({"alarm": a.pk, "kind": a.kind, "action": "acknowledge", "at": _iso(a.acknowledged_at)})
    for a in Alarm.objects.filter(cleared_by=user).order_by("cleared_at", "id"):
        out.append({"alarm": a.pk, "kind": a.kind, "action": "clear", "at": _iso(a.cleared_at), "note": a.clear_note})
    return "safety_alarm_actions", out


def _landlord_places(user):
    phone = getattr(user, "phone", None)
    return Place.objects.filter(landlord_phone=phone) if phone else Place.objects.none()


def export_landlord(user) -> tuple[str, list[dict]]:
    return "safety_landlord_of", [
        {"place": p.code, "name": p.name, "landlord_name": p.landlord_name, "landlord_phone": p.landlord_phone}
        for p in _landlord_places(user).order_by("code")
    ]


EXPORTS = (export_responder, export_inspections, export_alarm_actions, export_landlord)


# ---- erasure ------------------------------------------------------------------------------


def erase(user) -> None:
    """Keep the records, cut every path back to the person (module docstring). Runs in
    the caller's transaction."""
    Responder.objects.filter(user=user).update(user=None, on_duty=False, lat=None, lng=None, position_at=None)
    Inspection.objects.filter(inspector=user).update(inspector=None)
    Alarm.objects.filter(acknowledged_by=user).update(acknowledged_by=None)
    Alarm.objects.filter(cleared_by=user).update(cleared_by=None)
    AlarmEvent.objects.filter(actor=user).update(actor=None)
    AssignmentEvent.objects.filter(actor=user).update(actor=None)
    _landlord_places(user).update(landlord_name="", landlord_phone="")
    needles = identifiers(user)
    scrub_rows(Inspection, needles, text_fields=("findings",), json_fields=("rooms",))
    scrub_rows(Place, needles, text_fields=("landlord_name", "landlord_phone", "notes"))
    scrub_rows(Alarm, needles, text_fields=("clear_note",), json_fields=("details",))
    scrub_rows(AlarmEvent, needles, text_fields=("note",), json_fields=("data",))
    scrub_rows(AssignmentEvent, needles, text_fields=("note",), json_fields=("data",))
    scrub_rows(Dispatch, needles, text_fields=("outcome_note",))
