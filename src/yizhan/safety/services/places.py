"""Places of the fire-safety app: buildings, rental houses (出租房), charging sheds, micro
fire stations, the centre. Writes only here (create / update / disable).

``place_clean(data, instance=None)`` checks every field and returns ``(cleaned, errors)``
so the Excel import can report every problem of a row at once; the services raise the
first. A place belongs to the jurisdiction given by code, else to the community that
contains its point (``jurisdictions.locate``). The actor needs ``safety.manage`` there
(and, on an update that moves it, where it was).
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction

from yizhan.core import permissions
from yizhan.core.audit import audit_record
from yizhan.core.errors import AppError, InvalidPhone, OutOfJurisdiction, Required
from yizhan.core.geo import cell_of, validate_lat_lng
from yizhan.core.manifest import resolve
from yizhan.core.models import AuditAction
from yizhan.core.pii import mask_phone, normalize_phone
from yizhan.core.text import clean_text
from yizhan.jurisdictions.errors import JurisdictionNotFound
from yizhan.jurisdictions.locate import locate
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.safety import errors as E
from yizhan.safety.choices import DeviceStatus, PlaceKind
from yizhan.safety.models import Device, Place

MANAGE = "safety.manage"
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
PLACE_CODE_MAX = 32
_LABELS = {str(label): value for value, label in PlaceKind.choices}
_LANDLINE_RE = re.compile(r"^\+?[0-9][0-9\-\s()]{4,30}$")

# field -> max length of the text fields
TEXT_LIMITS = {"name": 120, "address": 200, "landlord_name": 60, "phone": 32, "notes": 2000}
SMALL_INTS = ("floors", "rooms", "tenant_count", "charging_points")
SMALL_INT_MAX = 32767
EQUIPMENT_MAX_ITEMS = 50


# ---- field checks shared with devices and imports -------------------------------------


def clean_code(value, *, limit: int = PLACE_CODE_MAX, field: str = "code") -> str:
    code = clean_text(str(value)) if value is not None else ""
    if not code:
        raise Required(field=field)
    if len(code) > limit or not CODE_RE.match(code):
        raise E.InvalidCode(field=field, limit=limit)
    return code


def clean_str(value, *, field: str, limit: int, required: bool = False, multiline: bool = False) -> str:
    text = "" if value is None else clean_text(str(value), multiline=multiline)
    if required and not text:
        raise Required(field=field)
    if len(text) > limit:
        raise E.TextTooLong(field=field, limit=limit)
    return text


def clean_int(value, *, field: str, low: int = 0, high: int = SMALL_INT_MAX, required: bool = False) -> int | None:
    """A whole number from an int, an integral float (Excel) or digits text; blank → None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Required(field=field)
        return None
    if isinstance(value, bool):
        raise E.InvalidNumber(field=field, low=low, high=high)
    if isinstance(value, float):
        if not value.is_integer():
            raise E.InvalidNumber(field=field, low=low, high=high)
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?\d{1,12}", text):
            raise E.InvalidNumber(field=field, low=low, high=high)
        value = int(text)
    if not isinstance(value, int) or not low <= value <= high:
        raise E.InvalidNumber(field=field, low=low, high=high)
    return value


def clean_phone(value, *, field: str) -> str:
    """A mainland mobile number (normalized) or a landline (digits, '-', spaces)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = "" if value is None else clean_text(str(value))
    if not text:
        return ""
    if re.fullmatch(r"(\+?86|0086)?1\d{10}", re.sub(r"[\s\-()]", "", text)):
        try:
            return normalize_phone(text)
        except AppError:
            raise InvalidPhone(field=field) from None
    if _LANDLINE_RE.match(text) and len(text) <= 32 and sum(ch.isdigit() for ch in text) >= 7:
        return text
    raise InvalidPhone(field=field)


def clean_kind(value) -> str:
    text = "" if value is None else clean_text(str(value))
    if not text:
        raise Required(field="kind")
    if text in PlaceKind.values:
        return text
    if text in _LABELS:
        return _LABELS[text]
    raise E.InvalidPlaceKind()


def clean_equipment(value) -> list[dict]:
    """``[{"item": "灭火器", "count": 10}]`` or the text ``灭火器×10、水带×2`` (× x X * :)."""
    if value is None or value == "":
        return []
    items = []
    if isinstance(value, str):
        for part in re.split(r"[、,，;；\n]+", value):
            part = clean_text(part)
            if not part:
                continue
            m = re.fullmatch(r"(.+?)\s*(?:[×xX*:：]\s*(\d{1,5}))?", part)
            if not m:
                raise E.InvalidEquipment()
            items.append({"item": m.group(1).strip(), "count": int(m.group(2) or 1)})
    elif isinstance(value, list):
        for entry in value:
            if not isinstance(entry, dict) or not isinstance(entry.get("item"), str):
                raise E.InvalidEquipment()
            count = entry.get("count", 1)
            if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 99999:
                raise E.InvalidEquipment()
            items.append({"item": clean_text(entry["item"]), "count": count})
    else:
        raise E.InvalidEquipment()
    if len(items) > EQUIPMENT_MAX_ITEMS or any(not i["item"] or len(i["item"]) > 40 for i in items):
        raise E.InvalidEquipment()
    return items


def _community_of(chain: list[Jurisdiction]) -> Jurisdiction:
    for node in chain:
        if node.level == "community":
            return node
    return chain[0]


def _jurisdiction(value, lat, lng) -> Jurisdiction:
    if isinstance(value, Jurisdiction):
        return value
    code = "" if value is None else clean_text(str(value))
    if code:
        node = Jurisdiction.objects.filter(code=code).first()
        if node is None:
            raise JurisdictionNotFound(field="jurisdiction")
        return node
    chain = locate(lat, lng)
    if not chain:
        raise Required(Required.jurisdiction, field="jurisdiction")
    return _community_of(chain)


def _parent(value, *, instance: Place | None) -> Place | None:
    if value is None or value == "":
        return None
    if isinstance(value, Place):
        parent = value
    else:
        parent = Place.objects.filter(code=clean_text(str(value))).first()
    if parent is None or (instance is not None and parent.pk == instance.pk):
        raise E.InvalidParentPlace()
    return parent


def place_clean(data: dict, *, instance: Place | None = None) -> tuple[dict, list[AppError]]:
    """The cleaned values of ``data`` (only the keys given, plus what they imply) and
    every error found. On create, code/kind/name/address/lat/lng are required."""
    out: dict = {}
    errors: list[AppError] = []

    def check(key, fn):
        try:
            out[key] = fn()
        except AppError as err:
            errors.append(err)

    creating = instance is None
    if creating:
        check("code", lambda: clean_code(data.get("code")))
    if creating or "kind" in data:
        check("kind", lambda: clean_kind(data.get("kind")))
    for key in ("name", "address"):
        if creating or key in data:
            check(key, lambda key=key: clean_str(data.get(key), field=key, limit=TEXT_LIMITS[key], required=True))
    for key in ("landlord_name", "notes"):
        if key in data:
            check(key, lambda key=key: clean_str(data.get(key), field=key, limit=TEXT_LIMITS[key],
                                                 multiline=key == "notes"))
    for key in ("landlord_phone", "phone"):
        if key in data:
            check(key, lambda key=key: clean_phone(data.get(key), field=key))
    for key in SMALL_INTS:
        if key in data:
            check(key, lambda key=key: clean_int(data.get(key), field=key))
    if "equipment" in data:
        check("equipment", lambda: clean_equipment(data.get("equipment")))
    if "active" in data:
        out["active"] = bool(data.get("active"))
    lat, lng = (instance.lat, instance.lng) if instance else (None, None)
    if creating or "lat" in data or "lng" in data:
        try:
            lat, lng = validate_lat_lng(data.get("lat", lat), data.get("lng", lng))
            out["lat"], out["lng"] = lat, lng
            out["cell"] = cell_of(lat, lng)
        except AppError as err:
            errors.append(err)
            lat = lng = None
    if creating or "jurisdiction" in data:
        if lat is not None or data.get("jurisdiction"):
            check("jurisdiction", lambda: _jurisdiction(data.get("jurisdiction"), lat, lng))
    if "parent" in data:
        check("parent", lambda: _parent(data.get("parent"), instance=instance))
    node = out.get("jurisdiction") or (instance.jurisdiction if instance else None)
    parent = out.get("parent")
    if parent is not None and node is not None and not node.path.startswith(parent.jurisdiction.path) \
            and not parent.jurisdiction.path.startswith(node.path):
        errors.append(E.InvalidParentPlace())
    return out, errors


def _raise_first(errors: list[AppError]) -> None:
    if errors:
        raise errors[0]


def _audit_changes(values: dict) -> dict:
    changes = {}
    for key, value in values.items():
        if key in ("jurisdiction", "parent"):
            value = value.code if value is not None else None
        elif key == "landlord_phone":
            value = mask_phone(value)
        elif key == "landlord_name":
            value = "***" if value else ""
        changes[key] = value
    return changes


def place_create(*, actor, data: dict) -> Place:
    permissions.require(actor, MANAGE)
    cleaned, errors = place_clean(data)
    _raise_first(errors)
    permissions.require(actor, MANAGE, cleaned["jurisdiction"])
    with transaction.atomic():
        if Place.objects.filter(code=cleaned["code"]).exists():
            raise E.PlaceCodeTaken()
        place = Place(**cleaned)
        try:
            with transaction.atomic():
                place.save(force_insert=True)
        except IntegrityError:
            raise E.PlaceCodeTaken() from None
        audit_record(actor=actor, action=AuditAction.CREATE, obj=place, summary=f"place {place.code} created",
                     changes=_audit_changes(cleaned), jurisdiction_path=place.jurisdiction.path)
    return place


def place_update(*, actor, place: Place, data: dict) -> Place:
    """Change the given fields (``code`` cannot change: imports find places by it)."""
    permissions.require(actor, MANAGE, place.jurisdiction)
    data = {k: v for k, v in data.items() if k != "code"}
    cleaned, errors = place_clean(data, instance=place)
    _raise_first(errors)
    node = cleaned.get("jurisdiction")
    if node is not None and node.pk != place.jurisdiction_id:
        permissions.require(actor, MANAGE, node)
    with transaction.atomic():
        locked = Place.objects.select_for_update().select_related("jurisdiction").get(pk=place.pk)
        changed = {k: v for k, v in cleaned.items() if getattr(locked, k) != v}
        if not changed:
            return locked
        for key, value in changed.items():
            setattr(locked, key, value)
        locked.save()
        if "jurisdiction" in changed:  # devices are scoped by their place's jurisdiction
            locked.devices.update(jurisdiction=locked.jurisdiction)
            _devices_changed()
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=locked, summary=f"place {locked.code} updated",
                     changes=_audit_changes(changed), jurisdiction_path=locked.jurisdiction.path)
    return locked


def place_disable(*, actor, place: Place, active: bool = False) -> Place:
    """Disable (or enable again) a place; its devices are disabled with it (not
    re-enabled by enabling the place: that is a device decision)."""
    permissions.require(actor, MANAGE, place.jurisdiction)
    with transaction.atomic():
        locked = Place.objects.select_for_update().select_related("jurisdiction").get(pk=place.pk)
        if locked.active == active:
            return locked
        locked.active = active
        locked.save(update_fields=["active", "updated_at"])
        disabled = 0
        if not active:
            disabled = Device.objects.filter(place=locked).exclude(status=DeviceStatus.DISABLED).update(
                status=DeviceStatus.DISABLED, offline_due_at=None)
            _devices_changed()
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=locked,
                     summary=f"place {locked.code} {'enabled' if active else 'disabled'}",
                     changes={"active": active, "devices_disabled": disabled},
                     jurisdiction_path=locked.jurisdiction.path)
    return locked


def require_manage_at(actor, node) -> None:
    if not permissions.can(actor, MANAGE, node):
        raise OutOfJurisdiction()


# Named, not imported: the ingest imports the services (alarms), so services importing
# the ingest would be a cycle; the manifest names the same hook in its ``caches``.
DEVICE_CACHE_FORGET = "yizhan.safety.ingest.device_cache.device_cache_forget"


def _devices_changed() -> None:
    """The ingest's device index must see the change (now, and again after commit)."""
    forget = resolve(DEVICE_CACHE_FORGET)
    forget()
    transaction.on_commit(forget)
