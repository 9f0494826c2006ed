"""Fire-safety API: devices (safety.view reads in scope; safety.manage writes).

    GET   /devices?kind&status&place&q&limit&offset   -> {"items", "count"}
    GET   /devices/{id}
    POST  /devices                PATCH /devices/{id}  (code and kind stay)
    POST  /devices/bulk           {"items": [...]}     (all checked first; all or nothing)
    POST  /devices/{id}/disable   POST /devices/{id}/enable
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status

from yizhan.core import permissions
from yizhan.core.schemas import Id, LimitQuery, OffsetQuery, page
from yizhan.safety.choices import DeviceKind, DeviceStatus
from yizhan.safety.errors import InvalidDeviceKind, InvalidFilter
from yizhan.safety.schemas import devices as S
from yizhan.safety.selectors import devices as selectors
from yizhan.safety.services import devices as services

router = Router(tags=["safety"])
VIEW = "safety.view"


def _out(device) -> dict:
    return selectors.device_view(device, alarms=selectors.open_alarm_kinds([device]).get(device.pk, []))


@router.get("/devices", response=S.DeviceListOut, summary="Devices in scope (filter by kind, status, place, code)")
def device_list(request: HttpRequest, kind: str = "", status: str = "", place: str = "", q: str = "",
                limit: int = LimitQuery(50), offset: int = OffsetQuery()):
    permissions.require(request.user, VIEW)
    if kind and kind not in DeviceKind.values:
        raise InvalidDeviceKind()
    if status and status not in DeviceStatus.values:
        raise InvalidFilter(field="status")
    items, count = page(selectors.device_list(user=request.user, kind=kind, status=status, place=place.strip(), q=q),
                        limit=limit, offset=offset)
    alarms = selectors.open_alarm_kinds(items)
    return {"items": [selectors.device_view(d, alarms=alarms.get(d.pk, [])) for d in items], "count": count}


@router.post("/devices/bulk", response={201: S.DeviceBulkOut}, summary="Register many devices at once (all or nothing)")
def device_bulk(request: HttpRequest, payload: S.BulkIn):
    devices = services.device_bulk_register(actor=request.user, items=payload.items)
    return Status(201, {"created": len(devices), "codes": [d.code for d in devices]})


@router.get("/devices/{device_id}", response=S.DeviceOut, summary="One device")
def device_get(request: HttpRequest, device_id: Id):
    permissions.require(request.user, VIEW)
    return _out(selectors.device_get(user=request.user, device_id=device_id))


@router.post("/devices", response={201: S.DeviceOut}, summary="Register a device (safety.manage)")
def device_create(request: HttpRequest, payload: S.DeviceIn):
    device = services.device_create(actor=request.user, data=payload.dict(exclude_unset=True))
    return Status(201, _out(selectors.device_get(user=request.user, device_id=device.pk)))


@router.patch("/devices/{device_id}", response=S.DeviceOut, summary="Change a device (safety.manage)")
def device_update(request: HttpRequest, device_id: Id, payload: S.DevicePatch):
    permissions.require(request.user, VIEW)
    device = selectors.device_get(user=request.user, device_id=device_id)
    device = services.device_update(actor=request.user, device=device, data=payload.dict(exclude_unset=True))
    return _out(selectors.device_get(user=request.user, device_id=device.pk))


@router.post("/devices/{device_id}/disable", response=S.DeviceOut, summary="Stop watching a device")
def device_disable(request: HttpRequest, device_id: Id):
    permissions.require(request.user, VIEW)
    device = services.device_disable(actor=request.user,
                                     device=selectors.device_get(user=request.user, device_id=device_id))
    return _out(selectors.device_get(user=request.user, device_id=device.pk))


@router.post("/devices/{device_id}/enable", response=S.DeviceOut, summary="Watch a disabled device again")
def device_enable(request: HttpRequest, device_id: Id):
    permissions.require(request.user, VIEW)
    device = services.device_disable(actor=request.user, disabled=False,
                                     device=selectors.device_get(user=request.user, device_id=device_id))
    return _out(selectors.device_get(user=request.user, device_id=device.pk))

