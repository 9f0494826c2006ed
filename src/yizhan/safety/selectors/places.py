"""Reads of places, scoped with ``core.permissions.restrict`` (``safety.view``).

    qs = place_list(user=u, kind="rental_house", q="东渚", jurisdiction="SZ-GX-KX-A", active=True)
    place = place_get(user=u, place_id=7)        # PlaceNotFound outside the user's scope
    place_view(place, user=u) -> dict            # the API's shape (landlord masked unless manager)
"""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from yizhan.core import permissions
from yizhan.core.pii import mask_phone
from yizhan.safety.choices import PlaceKind
from yizhan.safety.errors import PlaceNotFound
from yizhan.safety.models import Place

VIEW, MANAGE = "safety.view", "safety.manage"
MAX_Q = 60


def place_list(*, user, kind: str = "", q: str = "", jurisdiction: str = "", active: bool | None = None,
               perm: str = VIEW) -> QuerySet:
    qs = permissions.restrict(Place.objects.all(), user, perm)
    if kind:
        qs = qs.filter(kind=kind)
    q = (q or "").strip()[:MAX_Q]
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(address__icontains=q))
    if jurisdiction:
        qs = qs.filter(jurisdiction__path__contains=f"/{jurisdiction.strip()}/")
    if active is not None:
        qs = qs.filter(active=active)
    return (qs.select_related("jurisdiction", "parent")
            .annotate(device_count=Count("devices", distinct=True)).order_by("code"))


def place_get(*, user, place_id, perm: str = VIEW) -> Place:
    try:
        pk = int(place_id)
    except (TypeError, ValueError):
        raise PlaceNotFound() from None
    place = (permissions.restrict(Place.objects.all(), user, perm).select_related("jurisdiction", "parent")
             .filter(pk=pk).first() if 0 < pk < 2**63 else None)
    if place is None:
        raise PlaceNotFound()
    return place


def place_choices(*, user, perm: str = "safety.inspect", kinds=None, limit: int = 500) -> list[Place]:
    """Places a person may pick (e.g. for an inspection), by code."""
    qs = permissions.restrict(Place.objects.filter(active=True), user, perm)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return list(qs.only("id", "code", "name", "kind").order_by("code")[:limit])


def place_view(place: Place, *, user, devices=None) -> dict:
    """The API shape. Landlord's name and phone in full for managers of the place's
    jurisdiction only; masked for everyone else who may see the place."""
    full = permissions.can(user, MANAGE, place.jurisdiction)
    name = place.landlord_name
    out = {
        "id": place.pk, "code": place.code, "kind": place.kind, "kind_label": str(PlaceKind(place.kind).label),
        "name": place.name, "address": place.address, "lat": place.lat, "lng": place.lng,
        "jurisdiction": {"code": place.jurisdiction.code, "name": place.jurisdiction.name},
        "parent": {"id": place.parent.pk, "code": place.parent.code, "name": place.parent.name}
        if place.parent_id else None,
        "floors": place.floors, "rooms": place.rooms, "tenant_count": place.tenant_count,
        "landlord_name": name if full or not name else name[:1] + "*" * (len(name) - 1),
        "landlord_phone": place.landlord_phone if full else mask_phone(place.landlord_phone),
        "charging_points": place.charging_points, "equipment": place.equipment, "phone": place.phone,
        "notes": place.notes if full else "", "active": place.active,
        "device_count": getattr(place, "device_count", None),
        "updated_at": place.updated_at,
    }
    if devices is not None:
        out["devices"] = devices
    return out
