"""Every read of the stations app other code may call.

Staff reads are scoped with ``core.permissions.restrict/require``; the public
reads never return personal data except the keeper's masked phone. A staff read
of a keeper's unmasked contact is written to the audit log.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yizhan.core import permissions
from yizhan.core.audit import audit_record
from yizhan.core.errors import NotAuthenticated, PermissionDenied
from yizhan.core.models import AuditAction
from yizhan.core.pii import mask_phone
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.stations import errors as E
from yizhan.stations.choices import StationStatus
from yizhan.stations.hours import open_status
from yizhan.stations.models import Station, StationKeeper, StationSupply

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_LABELS = {
    "mon": _("周一"), "tue": _("周二"), "wed": _("周三"), "thu": _("周四"),
    "fri": _("周五"), "sat": _("周六"), "sun": _("周日"),
}
OSM_DAYS = {"mon": "Mo", "tue": "Tu", "wed": "We", "thu": "Th", "fri": "Fr", "sat": "Sa", "sun": "Su"}
REPORT_DAYS = 14
HOLIDAY_DAYS = 30


# ---- access ----------------------------------------------------------------------


def station_is_kept_by(*, station: Station, user) -> bool:
    return StationKeeper.objects.filter(station=station, user=user).exists()


def require_station_stock(*, actor, station: Station) -> None:
    """Keeper work on ``station`` (stock, donations, reports, QR): an admin with
    ``stations.manage`` there, or a keeper with ``stations.stock`` there who is
    listed for this station. Anyone else: 401 / 403 / out_of_jurisdiction."""
    permissions.require(actor, "stations.stock", station.jurisdiction)
    if permissions.can(actor, "stations.manage", station.jurisdiction):
        return
    if not station_is_kept_by(station=station, user=actor):
        raise E.NotStationKeeper()


def station_stock_get(*, actor, code: str) -> Station:
    """A station the actor may do keeper work on (see require_station_stock)."""
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    station = Station.objects.select_related("jurisdiction").filter(code=code).first()
    if station is None:
        if not permissions.has_perm_anywhere(actor, "stations.stock"):
            raise PermissionDenied()
        raise E.StationNotFound()
    require_station_stock(actor=actor, station=station)
    return station


# ---- public ----------------------------------------------------------------------


def station_public_get(*, code) -> Station:
    station = (
        Station.objects.select_related("jurisdiction", "hub")
        .filter(code=str(code))
        .exclude(status=StationStatus.REMOVED)
        .first()
    )
    if station is None:
        raise E.StationNotFound()
    return station


def _open_status(station: Station, holidays: dict, at: datetime):
    return open_status(hours=station.hours or {}, holidays=holidays, at=at)


def _upcoming_holidays(station: Station, today) -> list:
    return list(station.holidays.filter(date__gte=today - timedelta(days=1), date__lte=today + timedelta(days=HOLIDAY_DAYS)))


def station_public_detail(*, station: Station, at: datetime | None = None) -> dict:
    """Everything a worker sees on the station page. No personal data but the
    primary keeper's display name and masked phone."""
    at = at or timezone.now()
    today = timezone.localtime(at).date()
    holiday_rows = _upcoming_holidays(station, today)
    status = _open_status(station, {h.date: h.intervals for h in holiday_rows}, at)
    open_now = bool(status.open_now) and station.status == StationStatus.OPEN
    keeper = (
        StationKeeper.objects.filter(station=station).select_related("user").order_by("-is_primary", "created_at").first()
    )
    weekday = DAYS[today.weekday()]
    since = at - timedelta(days=REPORT_DAYS)
    reports = station.condition_reports.filter(created_at__gte=since).order_by("-created_at")[:20]
    reviews = station.reviews.filter(hidden=False).select_related("user").order_by("-updated_at")[:20]
    return {
        "id": station.pk,
        "code": station.code,
        "name": station.name,
        "name_en": station.name_en,
        "type": station.type,
        "type_label": str(station.get_type_display()),
        "host_type": station.host_type,
        "host_type_label": str(station.get_host_type_display()),
        "host_name": station.host_name,
        "address": station.address,
        "lat": station.lat,
        "lng": station.lng,
        "status": station.status,
        "status_reason": station.status_reason if station.status != StationStatus.OPEN else "",
        "jurisdiction": {"code": station.jurisdiction.code, "name": station.jurisdiction.name},
        "hub": {"code": station.hub.code, "name": station.hub.name} if station.hub_id else None,
        "description": station.description,
        "hours": station.hours or {},
        "week": [
            {"day": d, "label": str(DAY_LABELS[d]), "intervals": (station.hours or {}).get(d, []), "today": d == weekday}
            for d in DAYS
        ],
        "holidays": [{"date": h.date, "intervals": h.intervals, "note": h.note} for h in holiday_rows if h.date >= today],
        "open_now": open_now,
        "opens_at": status.opens_at if station.status == StationStatus.OPEN else None,
        "closes_at": status.closes_at if open_now else None,
        "open_status": {"open_now": open_now, "opens_at": status.opens_at, "closes_at": status.closes_at},
        "amenities": list(station.amenities or []),
        "supplies": [
            {"item": s.item, "label": str(s.get_item_display()), "quantity": s.quantity, "unit": s.unit, "low": s.is_low}
            for s in station.supplies.all()
        ],
        "keeper_name": (keeper.user.display_name if keeper else "") or "",
        "keeper_phone": mask_phone(keeper.user.phone) if keeper else "",
        "rating": station.rating,
        "rating_count": station.rating_count,
        "visit_count": station.visit_count,
        "last_confirmed_at": station.last_confirmed_at,
        "condition_reports": [
            {"id": r.pk, "kind": r.kind, "label": str(r.get_kind_display()), "note": r.note,
             "created_at": r.created_at, "resolved_at": r.resolved_at}
            for r in reports
        ],
        "reviews": [
            {"rating": rv.rating, "comment": rv.comment, "created_at": rv.created_at, "author": _review_author(rv.user)}
            for rv in reviews
        ],
    }


def _review_author(user) -> str:
    """First character of the display name and a star, never the phone ("王*")."""
    name = (getattr(user, "display_name", "") or "").strip()
    return f"{name[0]}*" if name else str(_("匿名用户"))


# ---- staff -----------------------------------------------------------------------


def station_staff_list(*, actor, filters: dict | None = None) -> QuerySet:
    """Stations in the actor's "stations.view" scope. Filters: q (code, name,
    address), status (removed ones only when asked for), type, jurisdiction (code,
    its subtree), amenity, hub (code)."""
    filters = filters or {}
    qs = permissions.restrict(
        Station.objects.select_related("jurisdiction", "hub"), actor, "stations.view"
    )
    q = (filters.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(address__icontains=q))
    status = filters.get("status")
    if status:
        qs = qs.filter(status=status)
    else:
        qs = qs.exclude(status=StationStatus.REMOVED)
    if filters.get("type"):
        qs = qs.filter(type=filters["type"])
    if filters.get("jurisdiction"):
        node = Jurisdiction.objects.filter(code=filters["jurisdiction"]).first()
        qs = qs.filter(jurisdiction__path__startswith=node.path) if node else qs.none()
    if filters.get("amenity"):
        amenity = filters["amenity"]
        # JSON "contains" is not portable to SQLite; the scoped set is small.
        qs = qs.filter(pk__in=[pk for pk, am in qs.values_list("pk", "amenities") if amenity in (am or [])])
    if filters.get("hub"):
        qs = qs.filter(hub__code=filters["hub"])
    return qs.order_by("code")


def station_staff_get(*, actor, code, perm: str = "stations.view") -> Station:
    """One station for staff; OutOfJurisdiction when outside the actor's scope."""
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    if not permissions.has_perm_anywhere(actor, perm):
        raise PermissionDenied()
    station = Station.objects.select_related("jurisdiction", "hub").filter(code=str(code)).first()
    if station is None:
        raise E.StationNotFound()
    permissions.require(actor, perm, station.jurisdiction)
    return station


def station_keepers_for_staff(*, actor, station: Station) -> list[dict]:
    """The station's keepers with their phone: unmasked for an actor with
    "people.view" there (that read goes to the audit log), masked otherwise."""
    permissions.require(actor, "stations.view", station.jurisdiction)
    links = list(StationKeeper.objects.filter(station=station).select_related("user").order_by("-is_primary", "pk"))
    full = permissions.can(actor, "people.view", station.jurisdiction)
    if full and links:
        audit_record(
            actor=actor, action=AuditAction.READ, object_type="stations.stationkeeper",
            object_id=station.pk, summary=f"keepers' contacts of station {station.code}",
            jurisdiction_path=station.jurisdiction.path,
        )
    return [
        {
            "user_id": link.user_id,
            "name": link.user.display_name or "",
            "phone": (link.user.phone or "") if full else mask_phone(link.user.phone),
            "is_primary": link.is_primary,
        }
        for link in links
    ]


def stations_kept_by(*, user) -> QuerySet:
    if not getattr(user, "is_authenticated", False):
        return Station.objects.none()
    return (
        Station.objects.filter(keeper_links__user=user)
        .exclude(status=StationStatus.REMOVED)
        .select_related("jurisdiction")
        .order_by("code")
        .distinct()
    )


def supplies_low(*, actor) -> QuerySet:
    """Supplies below their threshold at stations the actor keeps (with the keeper
    role there) or administers."""
    if not getattr(actor, "is_authenticated", False):
        return StationSupply.objects.none()
    scope = Q(pk__in=[])
    for path in permissions.scope_paths(actor, "stations.manage"):
        scope |= Q(station__jurisdiction__path__startswith=path)
    stock_paths = permissions.scope_paths(actor, "stations.stock")
    if stock_paths:
        kept = Q(station__keeper_links__user=actor)
        in_stock_scope = Q(pk__in=[])
        for path in stock_paths:
            in_stock_scope |= Q(station__jurisdiction__path__startswith=path)
        scope |= kept & in_stock_scope
    return (
        StationSupply.objects.filter(scope, quantity__lt=F("threshold"))
        .exclude(station__status=StationStatus.REMOVED)
        .select_related("station")
        .order_by("station__code", "item")
        .distinct()
    )


def station_supplies(*, station: Station) -> QuerySet:
    return StationSupply.objects.filter(station=station).order_by("item")


def station_donations(*, station: Station) -> QuerySet:
    return station.donations.all().order_by("-received_on", "-id")


# ---- open data --------------------------------------------------------------------


def osm_opening_hours(hours: dict) -> str:
    """The weekly schedule in OpenStreetMap ``opening_hours`` syntax
    ("Mo-Fr 09:00-18:00; Sa 10:00-16:00"), which map apps read."""
    hours = hours or {}
    spans = [tuple(tuple(iv) for iv in hours.get(d, [])) for d in DAYS]
    if all(s == (("00:00", "24:00"),) for s in spans):
        return "24/7"
    parts, i = [], 0
    while i < 7:
        j = i
        while j + 1 < 7 and spans[j + 1] == spans[i]:
            j += 1
        if spans[i]:
            days = OSM_DAYS[DAYS[i]] if i == j else f"{OSM_DAYS[DAYS[i]]}-{OSM_DAYS[DAYS[j]]}"
            parts.append(f"{days} " + ",".join(f"{a}-{b}" for a, b in spans[i]))
        i = j + 1
    return "; ".join(parts) if parts else "off"


def _export_qs():
    return (
        Station.objects.exclude(status=StationStatus.REMOVED)
        .select_related("jurisdiction", "hub")
        .order_by("code")
    )


def _export_props(s: Station) -> dict:
    return {
        "code": s.code,
        "name": s.name,
        "name_en": s.name_en,
        "type": s.type,
        "host_type": s.host_type,
        "host_name": s.host_name,
        "address": s.address,
        "status": s.status,
        "amenities": list(s.amenities or []),
        "hours": s.hours or {},
        "opening_hours": osm_opening_hours(s.hours),
        "jurisdiction": s.jurisdiction.code,
        "hub": s.hub.code if s.hub_id else None,
        "rating": s.rating,
        "last_confirmed_at": s.last_confirmed_at.isoformat() if s.last_confirmed_at else None,
    }


def station_export_features() -> dict:
    """Every non-removed station as a GeoJSON FeatureCollection (no personal data)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": s.code,
                "geometry": {"type": "Point", "coordinates": [s.lng, s.lat]},
                "properties": _export_props(s),
            }
            for s in _export_qs()
        ],
    }


EXPORT_CSV_HEADER = [
    "code", "name", "name_en", "type", "host_type", "host_name", "address", "lat", "lng", "status",
    "amenities", "opening_hours", "jurisdiction", "hub", "rating", "last_confirmed_at",
]


def station_export_csv_rows() -> Iterator[list[str]]:
    """Header, then one row per non-removed station; amenities ";"-separated codes,
    hours in OpenStreetMap syntax."""
    yield list(EXPORT_CSV_HEADER)
    for s in _export_qs().iterator(chunk_size=1000):
        p = _export_props(s)
        yield [
            p["code"], p["name"], p["name_en"], p["type"], p["host_type"], p["host_name"], p["address"],
            f"{s.lat:.6f}", f"{s.lng:.6f}", p["status"], ";".join(p["amenities"]), p["opening_hours"],
            p["jurisdiction"], p["hub"] or "", "" if p["rating"] is None else str(p["rating"]),
            p["last_confirmed_at"] or "",
        ]


def csv_text(rows) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue()
