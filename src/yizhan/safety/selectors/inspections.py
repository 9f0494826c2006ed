"""Reads of 331 inspections, scoped with ``core.permissions.restrict`` (``safety.view``).

    qs = inspection_list(user=u, state="rectifying", result="failed", place=7, overdue=True)
    ins = inspection_get(user=u, inspection_id=7)   # InspectionNotFound outside the scope
"""

from __future__ import annotations

from django.db.models import QuerySet

from yizhan.core import permissions
from yizhan.safety.choices import InspectionResult, InspectionState
from yizhan.safety.errors import InspectionNotFound
from yizhan.safety.models import Inspection
from yizhan.safety.workflow import INSPECTION, inspection_kinds

VIEW = "safety.view"
ITEMS = ("extinguisher", "escape_rope", "smoke_mask", "emergency_light")


def inspection_list(*, user, state: str = "", result: str = "", place=None, perm: str = VIEW) -> QuerySet:
    qs = permissions.restrict(Inspection.objects.all(), user, perm)
    if state:
        qs = qs.filter(state=state)
    if result:
        qs = qs.filter(result=result)
    if place not in (None, ""):
        qs = qs.filter(place=place) if not isinstance(place, str) or place.isdigit() else qs.filter(place__code=place)
    return qs.select_related("place", "jurisdiction", "inspector", "case").order_by("-inspected_at", "-id")


def inspection_get(*, user, inspection_id, perm: str = VIEW) -> Inspection:
    try:
        pk = int(inspection_id)
    except (TypeError, ValueError):
        raise InspectionNotFound() from None
    ins = (permissions.restrict(Inspection.objects.all(), user, perm)
           .select_related("place", "jurisdiction", "inspector", "case").prefetch_related("photos")
           .filter(pk=pk).first() if 0 < pk < 2**63 else None)
    if ins is None:
        raise InspectionNotFound()
    return ins


def inspection_actions(*, user, inspection: Inspection) -> list[str]:
    return INSPECTION.actions_for(inspection.state, inspection_kinds(user, inspection))


def inspection_view(ins: Inspection, *, user=None) -> dict:
    missing = sum(1 for r in ins.rooms for item in ITEMS if not r.get(item))
    out = {
        "id": ins.pk,
        "place": {"id": ins.place.pk, "code": ins.place.code, "name": ins.place.name},
        "jurisdiction": ins.jurisdiction.code,
        "inspector": (ins.inspector.display_name or ins.inspector.get_username()) if ins.inspector_id else None,
        "inspected_at": ins.inspected_at, "rooms": ins.rooms, "missing_items": missing,
        "flying_wire_charging": ins.flying_wire_charging, "garage_sleeping": ins.garage_sleeping,
        "escape_routes_clear": ins.escape_routes_clear,
        "result": ins.result, "result_label": str(InspectionResult(ins.result).label),
        "state": ins.state, "state_label": str(InspectionState(ins.state).label),
        "findings": ins.findings, "follow_up_due": ins.follow_up_due, "rectified_at": ins.rectified_at,
        "case": ins.case.number if ins.case_id else None,
        "photos": [{"url": p.image.url, "stage": p.stage} for p in ins.photos.all()],
    }
    if user is not None:
        out["actions"] = inspection_actions(user=user, inspection=ins)
    return out
