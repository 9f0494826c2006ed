"""Reads of devices, scoped with ``core.permissions.restrict`` (``safety.view``).

    qs = device_list(user=u, kind="smoke", status="offline", place=7, q="HZ-0001")
    device = device_get(user=u, device_id=7)       # DeviceNotFound outside the user's scope
    device_status_counts(user=u, place=p) -> {"online": 3, "offline": 1, ...}
"""

from __future__ import annotations

from django.db.models import Count, QuerySet

from yizhan.core import permissions
from yizhan.safety.choices import DeviceKind, DeviceStatus
from yizhan.safety.errors import DeviceNotFound
from yizhan.safety.models import Alarm, Device

VIEW = "safety.view"
MAX_Q = 60


def device_list(*, user, kind: str = "", status: str = "", place=None, q: str = "", perm: str = VIEW) -> QuerySet:
    qs = permissions.restrict(Device.objects.all(), user, perm)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if place is not None and place != "":
        qs = qs.filter(place=place) if not isinstance(place, str) or place.isdigit() else qs.filter(place__code=place)
    q = (q or "").strip()[:MAX_Q]
    if q:
        qs = qs.filter(code__icontains=q)
    return qs.select_related("place", "jurisdiction", "transmitter").order_by("code")


def device_get(*, user, device_id, perm: str = VIEW) -> Device:
    try:
        pk = int(device_id)
    except (TypeError, ValueError):
        raise DeviceNotFound() from None
    device = (permissions.restrict(Device.objects.all(), user, perm)
              .select_related("place", "jurisdiction", "transmitter").filter(pk=pk).first()
              if 0 < pk < 2**63 else None)
    if device is None:
        raise DeviceNotFound()
    return device


def device_status_counts(*, user, place=None) -> dict[str, int]:
    qs = device_list(user=user, place=place)
    counts = dict(qs.order_by().values_list("status").annotate(n=Count("id")))
    return {s: counts.get(s, 0) for s in DeviceStatus.values}


def open_alarm_kinds(devices) -> dict[int, list[str]]:
    """device id -> kinds of its open alarms (one query)."""
    out: dict[int, list[str]] = {}
    ids = [d.pk for d in devices]
    for device_id, kind in Alarm.objects.filter(device_id__in=ids, open=True).values_list("device_id", "kind"):
        out.setdefault(device_id, []).append(kind)
    return out


def gb_address_text(value) -> str:
    return "" if value is None else f"{value:012X}"


def device_view(device: Device, *, alarms=None) -> dict:
    return {
        "id": device.pk, "code": device.code, "kind": device.kind, "kind_label": str(DeviceKind(device.kind).label),
        "place": {"id": device.place.pk, "code": device.place.code, "name": device.place.name},
        "jurisdiction": device.jurisdiction.code,
        "floor": device.floor, "room": device.room, "location_text": device.location_text,
        "model_name": device.model_name, "firmware": device.firmware,
        "heartbeat_interval": device.heartbeat_interval, "battery": device.battery,
        "status": device.status, "status_label": str(DeviceStatus(device.status).label),
        "last_seen_at": device.last_seen_at, "installed_on": device.installed_on,
        "gb_address": gb_address_text(device.gb_address) or None,
        "transmitter": device.transmitter.code if device.transmitter_id else None,
        "gb_sys_type": device.gb_sys_type, "gb_sys_addr": device.gb_sys_addr,
        "gb_comp_type": device.gb_comp_type, "gb_comp_addr": device.gb_comp_addr,
        "open_alarms": alarms or [],
    }
