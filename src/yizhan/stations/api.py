"""Stations API: parse the schema, check permission, call the service/selector,
shape the answer. Errors are AppErrors rendered by config.api.

Static paths (nearby, coverage, export.*, checkins, import) are declared before
``/{code}`` so a station code never shadows them.
"""

from __future__ import annotations

import math

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from ninja import File, Form, Query, Router
from ninja.files import UploadedFile
from ninja.responses import Status

from yizhan.core import permissions
from yizhan.core.geo import validate_lat_lng
from yizhan.core.schemas import LimitQuery, OffsetQuery, page
from yizhan.jurisdictions.selectors import jurisdiction_get
from yizhan.stations import schemas as S
from yizhan.stations import selectors, services
from yizhan.stations.choices import Amenity, SupplyItem
from yizhan.stations.coverage import station_coverage
from yizhan.stations.errors import (
    ImportTooLarge,
    InvalidCheckIn,
    InvalidLimit,
    InvalidMinutes,
    InvalidMode,
    LimitTooLarge,
    PhotoNotFound,
    ReportNotFound,
    UnknownAmenity,
    UnknownItem,
)
from yizhan.stations.imports import MAX_BYTES, import_template_xlsx, stations_import
from yizhan.stations.models import CheckIn, Station, StationSupply
from yizhan.stations.nearby import station_nearby
from yizhan.stations.qr import qr_svg, qr_token_for, shanghai_today

router = Router(tags=["stations"])

MAX_LIMIT = 100
MODES = ("walk", "ebike")


def _station_out(s: Station) -> dict:
    return {
        "id": s.pk, "code": s.code, "name": s.name, "name_en": s.name_en, "type": s.type,
        "host_type": s.host_type, "host_name": s.host_name, "address": s.address, "lat": s.lat, "lng": s.lng,
        "status": s.status, "status_reason": s.status_reason,
        "jurisdiction": {"code": s.jurisdiction.code, "name": s.jurisdiction.name},
        "hub": {"code": s.hub.code, "name": s.hub.name} if s.hub_id else None,
        "amenities": list(s.amenities or []), "hours": s.hours or {}, "rating": s.rating,
        "rating_count": s.rating_count, "visit_count": s.visit_count, "last_confirmed_at": s.last_confirmed_at,
    }


def _supply_out(s: StationSupply) -> dict:
    return {"item": s.item, "label": str(s.get_item_display()), "quantity": s.quantity,
            "threshold": s.threshold, "unit": s.unit, "is_low": s.is_low}


def _item(item: str) -> str:
    if item not in SupplyItem.values:

        raise UnknownItem()
    return item


# ---- public: nearby, exports -------------------------------------------------------


@router.get("/nearby", auth=None, response=S.NearbyOut, summary="Nearest open stations (public)")
def nearby(
    request: HttpRequest,
    lat: str | None = None,
    lng: str | None = None,
    limit: str = "10",
    amenity: Query[list[str]] = None,
    open_now: bool = False,
    mode: str = "walk",
):
    amenity = amenity or []
    lat_f, lng_f = validate_lat_lng(lat, lng)
    try:
        limit_i = int(limit)
    except (TypeError, ValueError):
        limit_i = -1
    if limit_i < 1:
        raise InvalidLimit()
    if limit_i > MAX_LIMIT:
        raise LimitTooLarge(most=MAX_LIMIT)
    for a in amenity:
        if a not in Amenity.values:
            raise UnknownAmenity(field="amenity", value=a)
    if mode not in MODES:
        raise InvalidMode()

    items = station_nearby(lat=lat_f, lng=lng_f, limit=limit_i, amenities=tuple(amenity),
                           open_now=open_now, mode=mode)
    return {"items": items, "count": len(items)}


@router.get("/export.geojson", auth=None, summary="Open data: every active station as GeoJSON")
def export_geojson(request: HttpRequest):
    resp = JsonResponse(selectors.station_export_features(), json_dumps_params={"ensure_ascii": False})
    resp["Content-Type"] = "application/geo+json; charset=utf-8"
    resp["Content-Disposition"] = 'inline; filename="stations.geojson"'
    return resp


@router.get("/export.csv", auth=None, summary="Open data: every active station as CSV")
def export_csv(request: HttpRequest):
    text = selectors.csv_text(selectors.station_export_csv_rows())
    resp = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = 'attachment; filename="stations.csv"'
    return resp


# ---- staff: coverage, import, list/create ----------------------------------------------


@router.get("/coverage", summary="15-minute coverage of a jurisdiction (staff)")
def coverage(request: HttpRequest, jurisdiction: str = "", mode: str = "walk", minutes: str = "15"):

    actor = request.auth
    permissions.require(actor, "stations.view")
    node = jurisdiction_get(code=jurisdiction)
    permissions.require(actor, "stations.view", node)
    if mode not in MODES:
        raise InvalidMode()
    try:
        minutes_f = float(minutes)
    except ValueError:
        minutes_f = math.nan
    if not (math.isfinite(minutes_f) and 1 <= minutes_f <= 60):
        raise InvalidMinutes(most=60)

    return station_coverage(jurisdiction=node, minutes=int(minutes_f) if minutes_f.is_integer() else minutes_f, mode=mode)


@router.post("/checkins", response={201: S.CheckInOut}, summary="Check in with a station's QR token (worker)")
def checkin(request: HttpRequest, payload: S.CheckInIn):
    result = services.checkin_create(actor=request.auth, token=payload.token)
    return Status(201, {
        "station": {"code": result.station.code, "name": result.station.name},
        "counted": result.counted,
        "visit_count": result.station.visit_count,
        "checkin_id": result.checkin.pk,
    })


@router.post("/import", response=S.ImportReportOut, summary="Bulk import stations from .xlsx/.csv (staff)")
def import_stations(request: HttpRequest, file: File[UploadedFile], dry_run: Form[bool] = False):

    actor = request.auth
    permissions.require(actor, "stations.manage")
    if file.size and file.size > MAX_BYTES:
        raise ImportTooLarge(limit=5000)
    report = stations_import(actor=actor, file_name=file.name or "", content=file.read(), dry_run=dry_run)
    return report.as_dict()


@router.get("/import/template.xlsx", summary="Example import workbook (staff)")
def import_template(request: HttpRequest):

    permissions.require(request.auth, "stations.manage")
    resp = HttpResponse(
        import_template_xlsx(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    resp["Content-Disposition"] = 'attachment; filename="stations-template.xlsx"'
    return resp


@router.get("/", response=S.StationListOut, summary="Stations in my jurisdiction (staff)")
def station_list(
    request: HttpRequest, q: str = "", status: str = "", type: str = "", jurisdiction: str = "",
    amenity: str = "", hub: str = "", limit: int = LimitQuery(100), offset: int = OffsetQuery(),
):
    actor = request.auth
    permissions.require(actor, "stations.view")
    filters = {"q": q, "status": status, "type": type, "jurisdiction": jurisdiction, "amenity": amenity, "hub": hub}
    qs = selectors.station_staff_list(actor=actor, filters={k: v for k, v in filters.items() if v})
    items, count = page(qs, limit=limit, offset=offset)
    return {"items": [_station_out(s) for s in items], "count": count}


@router.post("/", response={201: S.StationOut}, summary="Create a station (admin)")
def station_create(request: HttpRequest, payload: S.StationIn):
    station = services.station_create(actor=request.auth, data=payload.dict())
    station = Station.objects.select_related("jurisdiction", "hub").get(pk=station.pk)
    return Status(201, _station_out(station))


# ---- one station ------------------------------------------------------------------------


@router.get("/{code}", auth=None, response=S.StationDetailOut, summary="Station detail (public)")
def station_detail(request: HttpRequest, code: str):
    station = selectors.station_public_get(code=code)
    return selectors.station_public_detail(station=station)


@router.patch("/{code}", response=S.StationOut, summary="Edit a station (admin)")
def station_update(request: HttpRequest, code: str, payload: S.StationPatch):
    station = selectors.station_staff_get(actor=request.auth, code=code, perm="stations.manage")
    station = services.station_update(actor=request.auth, station=station, data=payload.dict(exclude_unset=True))
    station = Station.objects.select_related("jurisdiction", "hub").get(pk=station.pk)
    return _station_out(station)


@router.post("/{code}/status", response=S.StationOut, summary="Open, close or remove a station (admin)")
def station_status(request: HttpRequest, code: str, payload: S.StatusIn):
    station = selectors.station_staff_get(actor=request.auth, code=code, perm="stations.manage")
    station = services.station_set_status(actor=request.auth, station=station, status=payload.status,
                                          reason=payload.reason)
    return _station_out(station)


@router.get("/{code}/keepers", summary="Keepers of a station with contacts (staff; audited)")
def station_keepers(request: HttpRequest, code: str):
    station = selectors.station_staff_get(actor=request.auth, code=code)
    items = selectors.station_keepers_for_staff(actor=request.auth, station=station)
    return {"items": items, "count": len(items)}


@router.get("/{code}/qr", response=S.QrOut, summary="Today's check-in QR code (keeper/admin)")
def station_qr(request: HttpRequest, code: str):

    station = selectors.station_stock_get(actor=request.auth, code=code)
    day = shanghai_today()
    token = qr_token_for(station=station, day=day)
    try:
        path = reverse("stations:checkin", args=[token])
    except Exception:  # the pages' URLconf is not mounted (API-only deployment)
        path = f"/c/{token}/"
    url = request.build_absolute_uri(path)
    return {"token": token, "url": url, "svg": qr_svg(url=url), "valid_on": day}


@router.post("/{code}/condition-reports", response={201: S.ConditionReportOut},
             summary="Report what you found at a station (worker)")
def condition_report(request: HttpRequest, code: str, payload: S.ConditionReportIn):

    actor = request.auth
    station = selectors.station_public_get(code=code)
    checkin = None
    if payload.checkin_id is not None:
        checkin = CheckIn.objects.filter(pk=payload.checkin_id).first()
        if checkin is None:
            raise InvalidCheckIn()
    report = services.condition_report_create(actor=actor, station=station, kind=payload.kind,
                                              note=payload.note, checkin=checkin)
    return Status(201, {"id": report.pk, "station": station.code, "kind": report.kind, "note": report.note,
                        "created_at": report.created_at, "resolved_at": report.resolved_at})


@router.post("/{code}/condition-reports/{report_id}/resolve", response=S.ConditionReportOut,
             summary="Mark a condition report resolved (keeper/admin)")
def condition_report_resolve(request: HttpRequest, code: str, report_id: int):
    station = selectors.station_stock_get(actor=request.auth, code=code)
    report = station.condition_reports.filter(pk=report_id).first()
    if report is None:

        raise ReportNotFound()
    report = services.condition_report_resolve(actor=request.auth, report=report)
    return {"id": report.pk, "station": station.code, "kind": report.kind, "note": report.note,
            "created_at": report.created_at, "resolved_at": report.resolved_at}


@router.post("/{code}/reviews", response={200: S.ReviewOut}, summary="Rate a station, 1–5 (worker)")
def review(request: HttpRequest, code: str, payload: S.ReviewIn):
    station = selectors.station_public_get(code=code)
    rv = services.review_upsert(actor=request.auth, station=station, rating=payload.rating, comment=payload.comment)
    station.refresh_from_db(fields=["rating_sum", "rating_count"])
    return {"id": rv.pk, "station": station.code, "rating": rv.rating, "comment": rv.comment,
            "station_rating": station.rating, "station_rating_count": station.rating_count}


@router.get("/{code}/supplies", response=S.SupplyListOut, summary="Supplies of a station (keeper/admin)")
def supplies(request: HttpRequest, code: str):
    station = selectors.station_stock_get(actor=request.auth, code=code)
    items = [_supply_out(s) for s in selectors.station_supplies(station=station)]
    return {"items": items, "count": len(items)}


@router.post("/{code}/supplies/{item}/movements", response=S.SupplyOut,
             summary="Record stock taken, restocked or counted (keeper/admin)")
def supply_movement(request: HttpRequest, code: str, item: str, payload: S.MovementIn):
    station = selectors.station_stock_get(actor=request.auth, code=code)
    supply = services.supply_record(actor=request.auth, station=station, item=_item(item), kind=payload.kind,
                                    quantity=payload.quantity, note=payload.note)
    return _supply_out(supply)


@router.put("/{code}/supplies/{item}", response=S.SupplyOut, summary="Set the low-stock threshold (keeper/admin)")
def supply_threshold(request: HttpRequest, code: str, item: str, payload: S.ThresholdIn):
    station = selectors.station_stock_get(actor=request.auth, code=code)
    supply = services.supply_set_threshold(actor=request.auth, station=station, item=_item(item),
                                           threshold=payload.threshold)
    return _supply_out(supply)


def _donation_out(d) -> dict:
    return {"id": d.pk, "giver_kind": d.giver_kind, "giver_name": d.giver_name, "description": d.description,
            "item": d.item, "quantity": d.quantity, "received_on": d.received_on}


@router.get("/{code}/donations", response=S.DonationListOut, summary="Gifts to a station (keeper/admin)")
def donations(request: HttpRequest, code: str):
    station = selectors.station_stock_get(actor=request.auth, code=code)
    items = [_donation_out(d) for d in selectors.station_donations(station=station)[:200]]
    return {"items": items, "count": len(items)}


@router.post("/{code}/donations", response={201: S.DonationOut}, summary="Record a gift (keeper/admin)")
def donation_create(request: HttpRequest, code: str, payload: S.DonationIn):
    station = selectors.station_stock_get(actor=request.auth, code=code)
    d = services.donation_record(
        actor=request.auth, station=station, giver_kind=payload.giver_kind, giver_name=payload.giver_name,
        description=payload.description, item=payload.item, quantity=payload.quantity,
        received_on=payload.received_on,
    )
    return Status(201, _donation_out(d))



def _photo_out(p) -> dict:
    return {"id": p.pk, "url": p.image.url, "caption": p.caption, "created_at": p.created_at}


@router.get("/{code}/photos", auth=None, response=S.PhotoListOut, summary="Photos of a station (public)")
def photos(request: HttpRequest, code: str):
    station = selectors.station_public_get(code=code)
    items = [_photo_out(p) for p in station.photos.order_by("-created_at", "-id")]
    return {"items": items, "count": len(items)}


@router.post("/{code}/photos", response={201: S.PhotoOut},
             summary="Add a photo (keeper/admin; JPEG/PNG/WebP ≤ 10 MB, EXIF removed)")
def photo_add(request: HttpRequest, code: str, photo: File[UploadedFile], caption: Form[str] = ""):
    station = selectors.station_stock_get(actor=request.auth, code=code)
    p = services.station_photo_add(actor=request.auth, station=station, upload=photo, caption=caption)
    return Status(201, _photo_out(p))


@router.delete("/{code}/photos/{photo_id}", response={204: None}, summary="Remove a photo (keeper/admin)")
def photo_remove(request: HttpRequest, code: str, photo_id: int):
    station = selectors.station_stock_get(actor=request.auth, code=code)
    photo = station.photos.filter(pk=photo_id).first()
    if photo is None:
        raise PhotoNotFound()
    services.station_photo_remove(actor=request.auth, station=station, photo=photo)
    return Status(204, None)
