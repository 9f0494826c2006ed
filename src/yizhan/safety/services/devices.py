"""Devices: sensors, user information transmission devices (用户信息传输装置, GB/T
26875.3) and the component points behind a transmitter. Writes only here.

* A device's ``jurisdiction`` is always its place's (copied, for scoping).
* A transmitter carries its 6-byte GB address: 12 hex digits as text
  (``"000012345678"``, ``"0x0000_1234_5678"``, ``"00:00:12:34:56:78"``) or an int
  (0 … 2**48-1). Shown as 12 upper-case hex digits (``gb_address_text``).
* A component point sits under a registered transmitter with its system type/address
  and component type/address (unique per transmitter).
* ``device_bulk_register`` checks every item first, then writes them all with two bulk
  statements and one audit row (nothing when any item is bad).
* Disabling sets ``status`` to disabled and clears the offline timer; enabling returns
  it to "new" until the next heartbeat. The ingest's device index is told on commit.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from yizhan.core import permissions
from yizhan.core.audit import audit_record
from yizhan.core.errors import AppError, InvalidDate, Required
from yizhan.core.models import AuditAction
from yizhan.core.text import clean_text
from yizhan.safety import errors as E
from yizhan.safety.choices import DeviceKind, DeviceStatus
from yizhan.safety.models import Device, Place
from yizhan.safety.services.places import MANAGE, _devices_changed, clean_code, clean_int, clean_str

DEVICE_CODE_MAX = 40
GB_ADDRESS_MAX = 2**48 - 1
BULK_MAX = 20000
INTERVAL_MIN, INTERVAL_MAX = 10, 7 * 24 * 3600
_KIND_LABELS = {str(label): value for value, label in DeviceKind.choices}
TEXT_LIMITS = {"floor": 16, "room": 32, "location_text": 120, "model_name": 60, "firmware": 40}
GB_FIELDS = ("gb_sys_type", "gb_sys_addr", "gb_comp_type", "gb_comp_addr")
GB_LIMITS = {"gb_sys_type": 255, "gb_sys_addr": 255, "gb_comp_type": 255, "gb_comp_addr": 2**32 - 1}


def parse_gb_address(value) -> int | None:
    """A transmitter's address as an int, from 12 hex digits (separators ``: - _ space``
    and a ``0x`` prefix allowed) or an int; blank → None. Raises InvalidGbAddress."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise E.InvalidGbAddress()
    if isinstance(value, int):
        if 0 <= value <= GB_ADDRESS_MAX:
            return value
        raise E.InvalidGbAddress()
    if not isinstance(value, str):
        raise E.InvalidGbAddress()
    text = re.sub(r"[\s:_\-]", "", value.strip())
    if text[:2].lower() == "0x":
        text = text[2:]
    if not re.fullmatch(r"[0-9A-Fa-f]{12}", text):
        raise E.InvalidGbAddress()
    return int(text, 16)


def gb_address_text(value: int | None) -> str:
    return "" if value is None else f"{value:012X}"


def clean_device_kind(value) -> str:
    text = "" if value is None else clean_text(str(value))
    if not text:
        raise Required(field="kind")
    if text in DeviceKind.values:
        return text
    if text in _KIND_LABELS:
        return _KIND_LABELS[text]
    raise E.InvalidDeviceKind()


def _place(value) -> Place:
    if isinstance(value, Place):
        return value
    if value is None or value == "":
        raise Required(field="place")
    qs = Place.objects.select_related("jurisdiction")
    if isinstance(value, int) and not isinstance(value, bool):
        place = qs.filter(pk=value).first() if 0 < value < 2**63 else None
    else:
        place = qs.filter(code=clean_text(str(value))).first()
    if place is None:
        raise E.PlaceNotFound(field="place")
    return place


def _transmitter(value) -> Device:
    if isinstance(value, Device):
        dev = value
    elif value is None or value == "":
        raise E.InvalidTransmitter()
    else:
        dev = Device.objects.filter(code=clean_text(str(value))).first()
    if dev is None or dev.kind != DeviceKind.TRANSMITTER:
        raise E.InvalidTransmitter()
    return dev


def _date(value):
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(clean_text(str(value))[:10])
    except ValueError:
        raise InvalidDate(field="installed_on") from None


def device_clean(data: dict, *, instance: Device | None = None, transmitters: dict | None = None) \
        -> tuple[dict, list[AppError]]:
    """Cleaned values of the keys given and every error found. ``transmitters``
    (code -> Device or a placeholder) lets an import name a transmitter of the same file."""
    out: dict = {}
    errors: list[AppError] = []

    def check(key, fn):
        try:
            out[key] = fn()
        except AppError as err:
            errors.append(err)

    creating = instance is None
    if creating:
        check("code", lambda: clean_code(data.get("code"), limit=DEVICE_CODE_MAX))
    if creating or "kind" in data:
        check("kind", lambda: clean_device_kind(data.get("kind")))
    if creating or "place" in data:
        check("place", lambda: _place(data.get("place")))
        if out.get("place") is not None and out["place"].jurisdiction_id is not None:
            out["jurisdiction"] = out["place"].jurisdiction
    for key, limit in TEXT_LIMITS.items():
        if key in data:
            check(key, lambda key=key, limit=limit: clean_str(data.get(key), field=key, limit=limit))
    if "heartbeat_interval" in data and data.get("heartbeat_interval") not in (None, ""):
        check("heartbeat_interval", lambda: clean_int(data.get("heartbeat_interval"), field="heartbeat_interval",
                                                      low=INTERVAL_MIN, high=INTERVAL_MAX))
    if "battery" in data:
        check("battery", lambda: clean_int(data.get("battery"), field="battery", low=0, high=100))
    if "installed_on" in data:
        check("installed_on", lambda: _date(data.get("installed_on")))
    kind = out.get("kind") or (instance.kind if instance else None)
    if kind == DeviceKind.TRANSMITTER:
        if creating or "gb_address" in data:
            check("gb_address", lambda: parse_gb_address(data.get("gb_address")))
            if "gb_address" in out and out["gb_address"] is None:
                errors.append(E.InvalidGbAddress())
    elif data.get("gb_address") not in (None, ""):
        errors.append(E.InvalidGbAddress())
    if kind == DeviceKind.COMPONENT:
        if creating or "transmitter" in data:
            given = data.get("transmitter")
            known = (transmitters or {}).get(clean_text(str(given))) if isinstance(given, str) else None
            if known is not None:
                out["transmitter"] = known
            else:
                check("transmitter", lambda: _transmitter(given))
        for key in GB_FIELDS:
            if creating or key in data:
                try:
                    out[key] = clean_int(data.get(key), field=key, high=GB_LIMITS[key], required=True)
                except AppError:
                    errors.append(E.InvalidComponentPoint(field=key))
    elif data.get("transmitter") not in (None, ""):
        errors.append(E.InvalidTransmitter())
    elif creating:
        out.update({"transmitter": None, **dict.fromkeys(GB_FIELDS)})
    return out, _one_per_field(errors)


def _one_per_field(errors: list[AppError]) -> list[AppError]:
    seen, out = set(), []
    for err in errors:
        if err.field not in seen:
            seen.add(err.field)
            out.append(err)
    return out


def _check_unique(cleaned: dict, *, instance: Device | None = None) -> None:
    others = Device.objects.exclude(pk=instance.pk) if instance else Device.objects.all()
    if cleaned.get("gb_address") is not None and others.filter(gb_address=cleaned["gb_address"]).exists():
        raise E.GbAddressTaken()
    tx = cleaned.get("transmitter", instance.transmitter if instance else None)
    if tx is not None and getattr(tx, "pk", None):
        point = {k: cleaned.get(k, getattr(instance, k, None)) for k in ("gb_sys_type", "gb_sys_addr", "gb_comp_addr")}
        if others.filter(transmitter=tx, **point).exists():
            raise E.ComponentPointTaken()


def _audit_changes(values: dict) -> dict:
    out = {}
    for key, value in values.items():
        if isinstance(value, (Place, Device)):
            value = value.code
        elif key == "jurisdiction":
            value = value.code
        elif key == "gb_address":
            value = gb_address_text(value)
        elif isinstance(value, dt.date):
            value = value.isoformat()
        out[key] = value
    return out


def _place_usable(actor, place: Place) -> None:
    permissions.require(actor, MANAGE, place.jurisdiction)
    if not place.active:
        raise E.PlaceInactive()


def device_create(*, actor, data: dict) -> Device:
    permissions.require(actor, MANAGE)
    cleaned, errors = device_clean(data)
    if errors:
        raise errors[0]
    _place_usable(actor, cleaned["place"])
    with transaction.atomic():
        if Device.objects.filter(code=cleaned["code"]).exists():
            raise E.DeviceCodeTaken()
        _check_unique(cleaned)
        device = Device(**cleaned)
        try:
            with transaction.atomic():
                device.save(force_insert=True)
        except IntegrityError:
            raise E.DeviceCodeTaken() from None
        audit_record(actor=actor, action=AuditAction.CREATE, obj=device, summary=f"device {device.code} created",
                     changes=_audit_changes(cleaned), jurisdiction_path=device.jurisdiction.path)
        _devices_changed()
    return device


def device_update(*, actor, device: Device, data: dict) -> Device:
    """Change the given fields; ``code`` and ``kind`` stay (the ingest and the rules
    know a device by them: register a new one instead). Moving it to another place
    moves its jurisdiction."""
    permissions.require(actor, MANAGE, device.jurisdiction)
    data = {k: v for k, v in data.items() if k not in ("code", "kind")}
    cleaned, errors = device_clean(data, instance=device)
    if errors:
        raise errors[0]
    if "place" in cleaned and cleaned["place"].pk != device.place_id:
        _place_usable(actor, cleaned["place"])
    with transaction.atomic():
        locked = Device.objects.select_for_update().select_related("jurisdiction", "place").get(pk=device.pk)
        changed = {k: v for k, v in cleaned.items() if getattr(locked, k) != v}
        if not changed:
            return locked
        _check_unique(changed, instance=locked)
        for key, value in changed.items():
            setattr(locked, key, value)
        try:
            with transaction.atomic():
                locked.save()
        except IntegrityError:
            raise E.ComponentPointTaken() from None
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=locked, summary=f"device {locked.code} updated",
                     changes=_audit_changes(changed), jurisdiction_path=locked.jurisdiction.path)
        _devices_changed()
    return locked


def device_disable(*, actor, device: Device, disabled: bool = True) -> Device:
    """Stop (or restart) watching a device: disabled devices raise no offline alarm."""
    permissions.require(actor, MANAGE, device.jurisdiction)
    with transaction.atomic():
        locked = Device.objects.select_for_update().select_related("jurisdiction", "place").get(pk=device.pk)
        if (locked.status == DeviceStatus.DISABLED) == disabled:
            return locked
        if not disabled and not locked.place.active:
            raise E.PlaceInactive()
        before = locked.status
        locked.status = DeviceStatus.DISABLED if disabled else DeviceStatus.NEW
        locked.offline_due_at = None
        locked.save(update_fields=["status", "offline_due_at", "updated_at"])
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=locked,
                     summary=f"device {locked.code} {'disabled' if disabled else 'enabled'}",
                     changes={"status": [before, locked.status]}, jurisdiction_path=locked.jurisdiction.path)
        _devices_changed()
    return locked


# ---- bulk --------------------------------------------------------------------------


def devices_write(*, actor, rows: list[tuple[dict, Device | None]], summary: str) -> tuple[int, int]:
    """Write cleaned rows (new when the second item is None, else an update of that
    device) in bulk: one INSERT batch, one UPDATE batch, one audit row. Every row is
    already checked (``device_clean`` + permissions); call inside a transaction."""
    now = timezone.now()
    new = [Device(**cleaned, created_at=now, updated_at=now) for cleaned, existing in rows if existing is None]
    Device.objects.bulk_create(new, batch_size=1000)
    updated, fields = [], set()
    for cleaned, existing in rows:
        if existing is None:
            continue
        for key, value in cleaned.items():
            if key != "code":
                setattr(existing, key, value)
                fields.add(key)
        existing.updated_at = now
        updated.append(existing)
    if updated:
        Device.objects.bulk_update(updated, sorted(fields | {"updated_at"}), batch_size=1000)
    audit_record(actor=actor, action=AuditAction.CREATE if not updated else AuditAction.IMPORT,
                 object_type="safety.device", summary=summary[:200],
                 changes={"created": len(new), "updated": len(updated),
                          "codes": [c["code"] if "code" in c else e.code for c, e in rows][:500]})
    _devices_changed()
    return len(new), len(updated)


def device_bulk_register(*, actor, items: list[dict]) -> list[Device]:
    """Register many new devices at once (e.g. a building's 60 smoke detectors). Every
    item is checked first; the first bad one is raised with ``field`` ``items[i].<field>``
    and nothing is written."""
    permissions.require(actor, MANAGE)
    if not isinstance(items, list) or not items:
        raise Required(field="items")
    if len(items) > BULK_MAX:
        raise E.BulkTooLarge(limit=BULK_MAX)
    codes: dict[str, int] = {}
    rows: list[tuple[dict, None]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise Required(field=f"items[{i}]")
        cleaned, errors = device_clean(item)
        if not errors:
            try:
                _place_usable(actor, cleaned["place"])
                if cleaned["code"] in codes:
                    raise E.ImportDuplicateCode(row=codes[cleaned["code"]] + 1)
                codes[cleaned["code"]] = i
            except AppError as err:
                errors = [err]
        if errors:
            err = errors[0]
            err.field = f"items[{i}].{err.field}" if err.field else f"items[{i}]"
            raise err
        rows.append((cleaned, None))
    with transaction.atomic():
        taken = set(Device.objects.filter(code__in=list(codes)).values_list("code", flat=True)[:1])
        if taken:
            code = next(iter(taken))
            raise E.DeviceCodeTaken(field=f"items[{codes[code]}].code")
        addresses = [c["gb_address"] for c, _ in rows if c.get("gb_address") is not None]
        if len(set(addresses)) != len(addresses) or Device.objects.filter(gb_address__in=addresses).exists():
            raise E.GbAddressTaken(field="items")
        try:
            with transaction.atomic():
                devices_write(actor=actor, rows=rows, summary=f"{len(rows)} devices registered")
        except IntegrityError:
            raise E.ComponentPointTaken(field="items") from None
    return list(Device.objects.filter(code__in=list(codes)).order_by("code"))
