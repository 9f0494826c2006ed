"""Fire-safety API: places (safety.view reads in scope; safety.manage writes).

    GET   /places?kind&q&jurisdiction&active&limit&offset   -> {"items", "count"}
    GET   /places/{id}                                     (with its devices and their states)
    POST  /places                 PATCH /places/{id}
    POST  /places/{id}/disable    POST /places/{id}/enable
    POST  /places/import          multipart "file" (.xlsx: sheets 场所 and 设备), "dry_run"
    GET   /places/import/template the workbook to fill in
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Router
from ninja.files import UploadedFile
from ninja.responses import Status

from yizhan.core import permissions
from yizhan.core.schemas import Id, LimitQuery, OffsetQuery, page
from yizhan.safety.choices import PlaceKind
from yizhan.safety.errors import InvalidPlaceKind
from yizhan.safety.schemas import places as S
from yizhan.safety.selectors import devices as device_selectors
from yizhan.safety.selectors import places as selectors
from yizhan.safety.services import imports
from yizhan.safety.services import places as services

router = Router(tags=["safety"])
VIEW, MANAGE = "safety.view", "safety.manage"
DETAIL_DEVICES = 500


def place_detail(place, user) -> dict:
    devices = list(device_selectors.device_list(user=user, place=place)[:DETAIL_DEVICES])
    alarms = device_selectors.open_alarm_kinds(devices)
    out = selectors.place_view(place, user=user, devices=[
        {"id": d.pk, "code": d.code, "kind": d.kind, "kind_label": d.get_kind_display(), "status": d.status,
         "status_label": d.get_status_display(), "location_text": d.location_text, "floor": d.floor,
         "room": d.room, "battery": d.battery, "last_seen_at": d.last_seen_at, "open_alarms": alarms.get(d.pk, [])}
        for d in devices])
    out["device_states"] = device_selectors.device_status_counts(user=user, place=place)
    return out


@router.get("/places", response=S.PlaceListOut, summary="Places in scope (filter by kind, text, community)")
def place_list(request: HttpRequest, kind: str = "", q: str = "", jurisdiction: str = "", active: bool | None = None,
               limit: int = LimitQuery(50), offset: int = OffsetQuery()):
    permissions.require(request.user, VIEW)
    if kind and kind not in PlaceKind.values:
        raise InvalidPlaceKind()
    qs = selectors.place_list(user=request.user, kind=kind, q=q, jurisdiction=jurisdiction, active=active)
    items, count = page(qs, limit=limit, offset=offset)
    return {"items": [selectors.place_view(p, user=request.user) for p in items], "count": count}


@router.get("/places/import/template", summary="The import workbook (sheets 场所 and 设备, notes)",
            response={200: None})
def import_template(request: HttpRequest):
    permissions.require(request.user, MANAGE)
    resp = HttpResponse(imports.import_template_xlsx(),
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp["Content-Disposition"] = 'attachment; filename="safety-import-template.xlsx"'
    return resp


@router.post("/places/import", response=S.SafetyImportReportOut,
             summary="Import places and devices from Excel: every row checked, nothing written if one is bad")
def import_upload(request: HttpRequest, file: File[UploadedFile], dry_run: Form[bool] = False):
    permissions.require(request.user, MANAGE)
    report = imports.safety_import(actor=request.user, file_name=file.name or "", content=file.read(imports.MAX_BYTES + 1),
                                   dry_run=dry_run)
    return Status(200 if report.ok else 400, report.as_dict())


@router.get("/places/{place_id}", response=S.PlaceDetailOut, summary="One place with its devices and their states")
def place_get(request: HttpRequest, place_id: Id):
    permissions.require(request.user, VIEW)
    return place_detail(selectors.place_get(user=request.user, place_id=place_id), request.user)


@router.post("/places", response={201: S.PlaceOut}, summary="Register a place (safety.manage)")
def place_create(request: HttpRequest, payload: S.PlaceIn):
    place = services.place_create(actor=request.user, data=payload.dict(exclude_unset=True))
    place = selectors.place_get(user=request.user, place_id=place.pk)
    return Status(201, selectors.place_view(place, user=request.user))


@router.patch("/places/{place_id}", response=S.PlaceOut, summary="Change a place (safety.manage; code stays)")
def place_update(request: HttpRequest, place_id: Id, payload: S.PlacePatch):
    permissions.require(request.user, VIEW)
    place = selectors.place_get(user=request.user, place_id=place_id)
    place = services.place_update(actor=request.user, place=place, data=payload.dict(exclude_unset=True))
    return selectors.place_view(selectors.place_get(user=request.user, place_id=place.pk), user=request.user)


@router.post("/places/{place_id}/disable", response=S.PlaceOut, summary="Disable a place and its devices")
def place_disable(request: HttpRequest, place_id: Id):
    permissions.require(request.user, VIEW)
    place = selectors.place_get(user=request.user, place_id=place_id)
    place = services.place_disable(actor=request.user, place=place)
    return selectors.place_view(place, user=request.user)


@router.post("/places/{place_id}/enable", response=S.PlaceOut, summary="Enable a place again (devices stay disabled)")
def place_enable(request: HttpRequest, place_id: Id):
    permissions.require(request.user, VIEW)
    place = selectors.place_get(user=request.user, place_id=place_id)
    place = services.place_disable(actor=request.user, place=place, active=True)
    return selectors.place_view(place, user=request.user)
