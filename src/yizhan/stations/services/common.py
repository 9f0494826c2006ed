"""Shared cleaning, checks and helpers of the stations services."""


from __future__ import annotations

import re
from datetime import date

from django.db import transaction

from yizhan.core.errors import AppError, Message, NotAuthenticated
from yizhan.core.geo import cell_of, validate_lat_lng
from yizhan.stations import errors as E
from yizhan.stations.choices import (
    Amenity,
    HostType,
    StationStatus,
    StationType,
)
from yizhan.stations.hours import validate_hours
from yizhan.stations.models import (
    Station,
    StationHoliday,
)
from yizhan.stations.nearby import nearby_index_invalidate

CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_QUANTITY = 1_000_000

# Allowed status changes (station_set_status is the only place a status is set,
# apart from the initial "open" of station_create).
STATUS_TRANSITIONS: dict[str, set[str]] = {
    StationStatus.OPEN: {StationStatus.CLOSED, StationStatus.REMOVED},
    StationStatus.CLOSED: {StationStatus.OPEN, StationStatus.REMOVED},
    StationStatus.REMOVED: {StationStatus.OPEN, StationStatus.CLOSED},
}


# ---- helpers -------------------------------------------------------------------


def _require_login(actor) -> None:
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()


def _schedule_index_refresh() -> None:
    """Refresh the in-memory nearby index once the transaction commits (once per
    transaction: a bulk load creating 150 stations in one transaction refreshes once)."""
    pending = transaction.get_connection().run_on_commit
    if not any(entry[1] is nearby_index_invalidate for entry in pending):
        transaction.on_commit(nearby_index_invalidate)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value, *, field: str, limit: int, required: bool = False, label: Message | None = None) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise E.FieldRequired(field=field, zh=label.zh if label else field, en=label.en if label else field)
    if len(text) > limit:
        raise E.TextTooLong(field=field, limit=limit)
    return text


def _choice_value(value, choices, *, field: str, error: type[E.ValidationError]):
    """A TextChoices value from its code or its Chinese label."""
    text = "" if value is None else str(value).strip()
    for v, label in choices.choices:
        if text == v or text == str(label):
            return v
    raise error(Message(error.message.zh.format(value=text or "（空）"),
                        error.message.en.format(value=text or "(empty)")), field=field)


def clean_amenities(value) -> list[str]:
    """A list of Amenity codes, in the choices' order, without duplicates."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [v for v in re.split(r"[、,，;；/\s]+", value) if v]
    if not isinstance(value, (list, tuple, set)):
        raise E.UnknownAmenity(value=str(value))
    by_label = {str(label): v for v, label in Amenity.choices}
    chosen = set()
    for item in value:
        text = str(item).strip()
        code = text if text in Amenity.values else by_label.get(text)
        if code is None:
            raise E.UnknownAmenity(value=text)
        chosen.add(code)
    return [v for v in Amenity.values if v in chosen]


def clean_hours(value) -> dict:
    try:
        return validate_hours(value or {})
    except AppError as err:
        if err.field is None:
            err.field = "hours"
        raise


def _clean_date(value, *, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise E.InvalidDate(field=field) from None


def _resolve_jurisdiction(value):
    from yizhan.jurisdictions.selectors import jurisdiction_get

    return jurisdiction_get(code=value)


def _resolve_hub(value, *, self_code: str | None = None):
    if value in (None, ""):
        return None
    hub = value if isinstance(value, Station) else Station.objects.filter(code=str(value).strip()).first()
    if hub is None or hub.type != StationType.HUB or hub.status == StationStatus.REMOVED:
        raise E.InvalidHub()
    if self_code is not None and hub.code == self_code:
        raise E.InvalidHub(Message("驿站不能隶属于自己", "A station cannot report to itself"))
    return hub


PUBLIC_PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()-]*[0-9]$")


def clean_public_phone(value) -> str:
    """A station's public number as people write it ("0512-6661 2345", "12345", "+86 400 800 1234"):
    digits with spaces, hyphens, brackets and a leading +; 5 to 20 digits. Empty is fine."""
    text = "" if value is None else str(value).strip()
    if not text:
        return ""
    digits = sum(ch.isdigit() for ch in text)
    if len(text) > 32 or not PUBLIC_PHONE_RE.match(text) or not 5 <= digits <= 20:
        raise E.InvalidPhone()
    return text


FIELD_CLEANERS = {
    "name": lambda v: _text(v, field="name", limit=100, required=True, label=Message("名称", "name")),
    "name_en": lambda v: _text(v, field="name_en", limit=150),
    "type": lambda v: _choice_value(v or StationType.STATION, StationType, field="type",
                                    error=E.InvalidStationType),
    "host_type": lambda v: _choice_value(v or HostType.COMMUNITY, HostType, field="host_type",
                                         error=E.InvalidHostType),
    "host_name": lambda v: _text(v, field="host_name", limit=120),
    "address": lambda v: _text(v, field="address", limit=200, required=True, label=Message("地址", "address")),
    "public_phone": lambda v: clean_public_phone(v),
    "amenities": clean_amenities,
    "hours": clean_hours,
    "description": lambda v: _text(v, field="description", limit=2000),
    "opened_on": lambda v: _clean_date(v, field="opened_on"),
}
STATION_FIELDS = ("code", *FIELD_CLEANERS, "lat", "lng", "jurisdiction", "hub", "holidays")


def station_clean(data: dict, *, instance: Station | None = None) -> tuple[dict, list[AppError]]:
    """Clean the known keys of ``data`` (unknown keys are ignored).

    Creating (``instance`` None) needs code, name, address, lat, lng and jurisdiction;
    updating cleans only the keys given. Returns (cleaned, errors) with every error,
    so imports can report all problems of a row at once. ``jurisdiction`` and ``hub``
    come back as objects."""
    cleaned: dict = {}
    errors: list[AppError] = []
    creating = instance is None

    def attempt(key, fn):
        try:
            cleaned[key] = fn()
        except AppError as err:
            errors.append(err)

    if creating:
        code = "" if data.get("code") is None else str(data.get("code")).strip()
        if not CODE_RE.match(code):
            errors.append(E.InvalidCode())
        else:
            cleaned["code"] = code
    for key, fn in FIELD_CLEANERS.items():
        if key in data or (creating and key in ("name", "address", "type", "host_type")):
            attempt(key, lambda fn=fn, key=key: fn(data.get(key)))
    if creating or "lat" in data or "lng" in data:
        lat = data.get("lat", None if creating else instance.lat)
        lng = data.get("lng", None if creating else instance.lng)
        try:
            cleaned["lat"], cleaned["lng"] = validate_lat_lng(lat, lng)
        except AppError as err:
            errors.append(err)
    if creating or "jurisdiction" in data:
        attempt("jurisdiction", lambda: _resolve_jurisdiction(data.get("jurisdiction")))
    if "hub" in data:
        self_code = instance.code if instance else cleaned.get("code")
        attempt("hub", lambda: _resolve_hub(data.get("hub"), self_code=self_code))
    if data.get("holidays") is not None:
        attempt("holidays", lambda: _clean_holidays(data["holidays"]))
    return cleaned, errors


def _clean_holidays(value) -> list[dict]:
    if not isinstance(value, (list, tuple)):
        raise E.InvalidHolidays()
    out = {}
    for entry in value:
        if not isinstance(entry, dict):
            raise E.InvalidHolidays()
        day = _clean_date(entry.get("date"), field="holidays")
        if day is None:
            raise E.InvalidHolidays(E.InvalidHolidays.no_date)
        intervals = clean_hours({"mon": entry.get("intervals") or []}).get("mon", [])
        out[day] = {"date": day, "intervals": intervals, "note": _text(entry.get("note"), field="holidays", limit=100)}
    return list(out.values())


def _first_error(errors: list[AppError]) -> None:
    if errors:
        raise errors[0]


def _jsonable(value):
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "code") and hasattr(value, "pk"):
        return value.code
    return value


def _apply(station: Station, cleaned: dict) -> dict:
    """Set the cleaned fields on ``station``; return {field: [old, new]} of real changes."""
    changes = {}
    for key, value in cleaned.items():
        if key == "holidays":
            continue
        old = getattr(station, key, None)
        if old != value:
            changes[key] = [_jsonable(old), _jsonable(value)]
            setattr(station, key, value)
    if "lat" in changes or "lng" in changes or not station.cell:
        station.cell = cell_of(station.lat, station.lng)
    return changes


def _replace_holidays(station: Station, holidays: list[dict]) -> None:
    StationHoliday.objects.filter(station=station).delete()
    StationHoliday.objects.bulk_create(
        [StationHoliday(station=station, date=h["date"], intervals=h["intervals"], note=h["note"]) for h in holidays]
    )
