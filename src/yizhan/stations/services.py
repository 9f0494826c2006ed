"""Every write to the stations app.

Each service takes keyword-only arguments with ``actor`` first, runs in one
transaction, checks permission through ``core.permissions`` and leaves an audit
row in the same transaction. Counters and stock move with ``F()`` under
``select_for_update`` so concurrent writers cannot lose updates or go negative
(the database CHECK constraints are the last line). Station writes schedule the
nearby index refresh with ``transaction.on_commit``.

Who may do what:
* admins: ``stations.manage`` on the station's jurisdiction (create, edit, status, keepers);
* keepers: ``stations.stock`` there AND listed in ``StationKeeper`` (stock, donations,
  resolving reports) — admins may do those too;
* workers: any logged-in user checks in, reports conditions and reviews.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from yizhan.core import permissions
from yizhan.core.audit import audit_entry, audit_record
from yizhan.core.errors import AppError, Message, NotAuthenticated
from yizhan.core.geo import cell_of, validate_lat_lng
from yizhan.core.models import AuditAction, AuditLog
from yizhan.core.notifications import notify
from yizhan.stations import errors as E
from yizhan.stations.choices import (
    Amenity,
    ConditionKind,
    GiverKind,
    HostType,
    StationStatus,
    StationType,
    StockMovementKind,
    SupplyItem,
)
from yizhan.stations.hours import validate_hours
from yizhan.stations.models import (
    CheckIn,
    ConditionReport,
    Donation,
    Station,
    StationHoliday,
    StationKeeper,
    StationPhoto,
    StationReview,
    StationSupply,
    StockMovement,
)
from yizhan.stations.nearby import nearby_index_invalidate
from yizhan.stations.selectors import require_station_stock

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


# ---- stations --------------------------------------------------------------------


def station_create(*, actor, data: dict) -> Station:
    """A new, open station. ``data``: code, name, address, lat, lng, jurisdiction (code or
    node), optional name_en, type, host_type, host_name, hub (code or station), amenities,
    hours, holidays [{date, intervals, note}], description, opened_on."""
    permissions.require(actor, "stations.manage")
    cleaned, errors = station_clean(data)
    _first_error(errors)
    jurisdiction = cleaned["jurisdiction"]
    permissions.require(actor, "stations.manage", jurisdiction)
    with transaction.atomic():
        if Station.objects.filter(code=cleaned["code"]).exists():
            raise E.StationCodeTaken()
        station = Station(status=StationStatus.OPEN)
        _apply(station, cleaned)
        try:
            with transaction.atomic():
                station.save()
        except IntegrityError:  # a concurrent create took the code
            raise E.StationCodeTaken() from None
        if cleaned.get("holidays"):
            _replace_holidays(station, cleaned["holidays"])
        audit_record(
            actor=actor, action=AuditAction.CREATE, obj=station, summary=f"station {station.code} {station.name}",
            changes={k: _jsonable(v) for k, v in cleaned.items() if k != "holidays"},
            jurisdiction_path=jurisdiction.path,
        )
        _schedule_index_refresh()
    return station


def station_update(*, actor, station: Station, data: dict) -> Station:
    """Change the given fields (PATCH semantics; ``code`` and ``status`` are not
    changed here — codes are stable, status goes through station_set_status)."""
    permissions.require(actor, "stations.manage", station.jurisdiction)
    data = {k: v for k, v in data.items() if k in STATION_FIELDS and k != "code"}
    cleaned, errors = station_clean(data, instance=station)
    _first_error(errors)
    if "jurisdiction" in cleaned and cleaned["jurisdiction"].pk != station.jurisdiction_id:
        permissions.require(actor, "stations.manage", cleaned["jurisdiction"])
    with transaction.atomic():
        station = Station.objects.select_for_update().select_related("jurisdiction").get(pk=station.pk)
        old_path = station.jurisdiction.path
        changes = _apply(station, cleaned)
        if "holidays" in cleaned:
            _replace_holidays(station, cleaned["holidays"])
            changes["holidays"] = [None, [_jsonable(h["date"]) for h in cleaned["holidays"]]]
        if not changes:
            return station
        station.save()
        audit_record(
            actor=actor, action=AuditAction.UPDATE, obj=station, summary=f"station {station.code}",
            changes=changes, jurisdiction_path=station.jurisdiction.path if "jurisdiction" in cleaned else old_path,
        )
        _schedule_index_refresh()
    return station


def station_set_status(*, actor, station: Station, status: str, reason: str = "") -> Station:
    """Open, close temporarily or remove (removal needs a reason)."""
    permissions.require(actor, "stations.manage", station.jurisdiction)
    if status not in StationStatus.values:
        raise E.InvalidStatus()
    reason = _text(reason, field="reason", limit=200)
    if status == StationStatus.REMOVED and not reason:
        raise E.ReasonRequired()
    with transaction.atomic():
        station = Station.objects.select_for_update().select_related("jurisdiction").get(pk=station.pk)
        old = station.status
        if status == old:
            if reason == station.status_reason:
                raise E.StatusUnchanged()
        elif status not in STATUS_TRANSITIONS[old]:  # pragma: no cover - every pair is allowed today
            raise E.StatusUnchanged()
        station.status = status
        station.status_reason = "" if status == StationStatus.OPEN else reason
        station.save(update_fields=["status", "status_reason", "updated_at"])
        audit_record(
            actor=actor, action=AuditAction.UPDATE, obj=station, summary=f"station {station.code} {old} → {status}",
            changes={"status": [old, status], "status_reason": reason},
            jurisdiction_path=station.jurisdiction.path,
        )
        _schedule_index_refresh()
    return station


# ---- keepers ---------------------------------------------------------------------


def station_keeper_assign(*, actor, station: Station, user, is_primary: bool = True) -> StationKeeper:
    """Make ``user`` a keeper of ``station`` and grant them the keeper role on the
    station's jurisdiction (through accounts.services.role_grant)."""
    from yizhan.accounts.services import role_grant

    permissions.require(actor, "stations.manage", station.jurisdiction)
    if user is None or not getattr(user, "pk", None):
        raise E.KeeperNotFound()
    with transaction.atomic():
        link, created = StationKeeper.objects.get_or_create(
            station=station, user=user, defaults={"is_primary": is_primary}
        )
        if not created and link.is_primary != is_primary:
            link.is_primary = is_primary
            link.save(update_fields=["is_primary", "updated_at"])
        if is_primary:
            StationKeeper.objects.filter(station=station, is_primary=True).exclude(pk=link.pk).update(
                is_primary=False, updated_at=timezone.now()
            )
        if not permissions.can(user, "stations.stock", station.jurisdiction):
            role_grant(actor=actor, user=user, role="keeper", jurisdiction=station.jurisdiction)
        audit_record(
            actor=actor, action=AuditAction.CREATE if created else AuditAction.UPDATE, obj=link,
            summary=f"keeper {user.username} of station {station.code}" + (" (primary)" if is_primary else ""),
            jurisdiction_path=station.jurisdiction.path,
        )
    return link


def station_keeper_remove(*, actor, station: Station, user) -> None:
    """Unlink a keeper; drop their keeper role there when they keep no other station in it."""
    from yizhan.accounts.models import RoleGrant
    from yizhan.accounts.services import role_revoke

    permissions.require(actor, "stations.manage", station.jurisdiction)
    with transaction.atomic():
        link = StationKeeper.objects.filter(station=station, user=user).first()
        if link is None:
            raise E.KeeperNotFound()
        audit_record(
            actor=actor, action=AuditAction.DELETE, obj=link,
            summary=f"keeper {user.username} removed from station {station.code}",
            jurisdiction_path=station.jurisdiction.path,
        )
        link.delete()
        still_keeps = StationKeeper.objects.filter(user=user, station__jurisdiction=station.jurisdiction).exists()
        if not still_keeps and RoleGrant.objects.filter(
            user=user, role="keeper", jurisdiction=station.jurisdiction
        ).exists():
            role_revoke(actor=actor, user=user, role="keeper", jurisdiction=station.jurisdiction)


def keeper_user_for_phone(*, actor, phone: str, display_name: str = ""):
    """The user with this phone, created (phone login, no password) when new.

    There is no accounts service for "a worker known only by phone" yet, so the row
    is created here the way ``otp_verify`` would, with an audit row."""
    from yizhan.accounts.models import User
    from yizhan.core.pii import mask_phone, normalize_phone

    phone = normalize_phone(phone)
    with transaction.atomic():
        user = User.objects.filter(phone=phone).first()
        if user is not None:
            if display_name and not user.display_name:
                User.objects.filter(pk=user.pk).update(display_name=display_name[:60])
                user.display_name = display_name[:60]
            return user
        user = User(username=f"w_{secrets.token_hex(6)}", phone=phone, display_name=(display_name or "")[:60])
        user.set_unusable_password()
        user.save()
        audit_record(
            actor=actor, action=AuditAction.CREATE, obj=user, summary=f"keeper account {mask_phone(phone)}",
        )
    return user


# ---- supplies ----------------------------------------------------------------------


def _check_item(item: str) -> str:
    if item not in SupplyItem.values:
        raise E.UnknownItem()
    return item


def _check_quantity(quantity, *, minimum: int) -> int:
    if not _is_int(quantity) or quantity < minimum or quantity > MAX_QUANTITY:
        raise E.InvalidQuantity(
            rule=f"{minimum} 到 {MAX_QUANTITY} 之间", rule_en=f"from {minimum} to {MAX_QUANTITY}"
        )
    return quantity


def _locked_supply(station: Station, item: str) -> StationSupply:
    supply, _ = StationSupply.objects.get_or_create(station=station, item=item)
    return StationSupply.objects.select_for_update().get(pk=supply.pk)


def _notify_low(station: Station, supply: StationSupply) -> None:
    label = supply.get_item_display()
    title = Message(f"{station.name}：{label}库存不足", f"{station.name}: {supply.item} is running low")
    body = Message(
        f"现有 {supply.quantity}，低于预警值 {supply.threshold}，请及时补货。",
        f"{supply.quantity} left, below the threshold of {supply.threshold}; please restock.",
    )
    for link in StationKeeper.objects.filter(station=station).select_related("user"):
        notify(user=link.user, kind="stock_low", title=title, body=body, url=f"/keeper/stations/{station.code}/")


def _move_stock(*, actor, station, supply: StationSupply, kind: str, delta: int, note: str) -> StationSupply:
    """Apply ``delta`` with F() (never below zero), record the movement, alert on crossing."""
    before = supply.quantity
    qs = StationSupply.objects.filter(pk=supply.pk)
    if delta < 0:
        qs = qs.filter(quantity__gte=-delta)
    if not qs.update(quantity=F("quantity") + delta, updated_at=timezone.now()):
        raise E.InsufficientStock(available=before)
    supply.refresh_from_db()
    StockMovement.objects.create(
        supply=supply, kind=kind, delta=delta, quantity_after=supply.quantity, actor=actor, note=note
    )
    if supply.threshold > 0 and before >= supply.threshold > supply.quantity:
        _notify_low(station, supply)
    return supply


def supply_record(*, actor, station: Station, item: str, kind: str, quantity: int, note: str = "") -> StationSupply:
    """Stock taken (take), delivered (restock), or counted (adjust: the absolute count)."""
    require_station_stock(actor=actor, station=station)
    _check_item(item)
    if kind not in (StockMovementKind.TAKE, StockMovementKind.RESTOCK, StockMovementKind.ADJUST):
        raise E.InvalidMovementKind()
    _check_quantity(quantity, minimum=0 if kind == StockMovementKind.ADJUST else 1)
    note = _text(note, field="note", limit=200)
    with transaction.atomic():
        supply = _locked_supply(station, item)
        if kind == StockMovementKind.TAKE:
            delta = -quantity
        elif kind == StockMovementKind.RESTOCK:
            delta = quantity
        else:
            delta = quantity - supply.quantity
        if delta == 0:
            return supply
        before = supply.quantity
        supply = _move_stock(actor=actor, station=station, supply=supply, kind=kind, delta=delta, note=note)
        audit_record(
            actor=actor, action=AuditAction.UPDATE, obj=supply,
            summary=f"{station.code} {item} {kind} {quantity}",
            changes={"quantity": [before, supply.quantity]}, jurisdiction_path=station.jurisdiction.path,
        )
    return supply


def supply_set_threshold(*, actor, station: Station, item: str, threshold: int) -> StationSupply:
    require_station_stock(actor=actor, station=station)
    _check_item(item)
    if not _is_int(threshold) or not 0 <= threshold <= MAX_QUANTITY:
        raise E.InvalidThreshold()
    with transaction.atomic():
        supply = _locked_supply(station, item)
        old = supply.threshold
        if old == threshold:
            return supply
        supply.threshold = threshold
        supply.save(update_fields=["threshold", "updated_at"])
        audit_record(
            actor=actor, action=AuditAction.UPDATE, obj=supply, summary=f"{station.code} {item} threshold",
            changes={"threshold": [old, threshold]}, jurisdiction_path=station.jurisdiction.path,
        )
    return supply


def supplies_bulk_set(*, actor, station: Station, supplies, note: str = "") -> list[StationSupply]:
    """Set many of a station's supplies at once (the demo loader, imports): each entry is
    ``{"item", "threshold"?, "quantity"?}``. The same rules and rows as
    ``supply_set_threshold`` then ``supply_record(kind="adjust")`` per entry — threshold
    set first, then the counted quantity (a ``StockMovement`` and an audit row per change,
    the keeper told when stock falls below the threshold) — written with a few bulk
    statements in one transaction instead of ~8 statements per supply. An entry without
    ``quantity`` leaves the stock as it is. All-or-nothing: every entry is checked first."""
    require_station_stock(actor=actor, station=station)
    note = _text(note, field="note", limit=200)
    wanted: dict[str, tuple[int | None, int | None]] = {}
    for entry in supplies:
        item = _check_item(entry.get("item"))
        threshold = entry.get("threshold")
        if threshold is not None and (not _is_int(threshold) or not 0 <= threshold <= MAX_QUANTITY):
            raise E.InvalidThreshold()
        quantity = entry.get("quantity")
        if quantity is not None:
            _check_quantity(quantity, minimum=0)
        wanted[item] = (threshold, quantity)
    path = station.jurisdiction.path
    with transaction.atomic():
        have = {s.item: s for s in StationSupply.objects.select_for_update().filter(station=station, item__in=wanted)}
        now = timezone.now()
        steps, created, updated = [], [], []
        for item, (threshold, quantity) in wanted.items():
            supply = have.get(item)
            if supply is None:  # a new row starts at 0 / 0, written with its final values below
                supply = have[item] = StationSupply(station=station, item=item, quantity=0, threshold=0)
                created.append(supply)
            old_threshold, before = supply.threshold, supply.quantity
            if threshold is not None and threshold != old_threshold:
                supply.threshold = threshold
                steps.append((supply, "threshold", old_threshold, threshold))
            if quantity is not None and quantity != before:
                supply.quantity = quantity
                steps.append((supply, "quantity", before, quantity))
            if supply.pk is not None and (supply.threshold, supply.quantity) != (old_threshold, before):
                supply.updated_at = now
                updated.append(supply)
        if created:
            StationSupply.objects.bulk_create(created)
            if any(s.pk is None for s in created):  # a backend that does not return ids
                ids = dict(StationSupply.objects.filter(station=station, item__in=[s.item for s in created])
                           .values_list("item", "pk"))
                for supply in created:
                    supply.pk = ids[supply.item]
        for supply in updated:
            supply.save(update_fields=["threshold", "quantity", "updated_at"])
        movements, audits, low = [], [], []
        for supply, what, old, new in steps:
            if what == "threshold":
                audits.append(audit_entry(
                    actor=actor, action=AuditAction.UPDATE, obj=supply, summary=f"{station.code} {supply.item} threshold",
                    changes={"threshold": [old, new]}, jurisdiction_path=path,
                ))
                continue
            movements.append(StockMovement(supply=supply, kind=StockMovementKind.ADJUST, delta=new - old,
                                           quantity_after=new, actor=actor, note=note))
            audits.append(audit_entry(
                actor=actor, action=AuditAction.UPDATE, obj=supply, summary=f"{station.code} {supply.item} adjust {new}",
                changes={"quantity": [old, new]}, jurisdiction_path=path,
            ))
            if supply.threshold > 0 and old >= supply.threshold > new:
                low.append(supply)
        StockMovement.objects.bulk_create(movements)
        AuditLog.objects.bulk_create(audits)
        for supply in low:
            _notify_low(station, supply)
    return [have[item] for item in wanted]


def donation_record(
    *, actor, station: Station, giver_kind: str, giver_name: str, description: str, item: str = "",
    quantity: int = 0, received_on: date | None = None,
) -> Donation:
    """A gift (三个一点). With ``item`` and ``quantity`` it also goes into stock."""
    require_station_stock(actor=actor, station=station)
    if giver_kind not in GiverKind.values:
        raise E.InvalidGiverKind()
    giver_name = _text(giver_name, field="giver_name", limit=100)
    description = _text(description, field="description", limit=200)
    if not giver_name:
        raise E.FieldRequired(E.FieldRequired.giver_name, field="giver_name")
    if not description:
        raise E.FieldRequired(E.FieldRequired.description, field="description")
    item = item or ""
    if item:
        _check_item(item)
        _check_quantity(quantity, minimum=1)
    elif quantity not in (0, None):
        _check_quantity(quantity, minimum=0)
    received_on = _clean_date(received_on, field="received_on") or timezone.localdate()
    if received_on > timezone.localdate():
        raise E.InvalidDate(E.InvalidDate.future, field="received_on")
    with transaction.atomic():
        donation = Donation.objects.create(
            station=station, giver_kind=giver_kind, giver_name=giver_name, description=description,
            item=item, quantity=quantity or 0, received_on=received_on, recorded_by=actor,
        )
        if item:
            supply = _locked_supply(station, item)
            _move_stock(actor=actor, station=station, supply=supply, kind=StockMovementKind.DONATION,
                        delta=quantity, note=f"{giver_name}: {description}"[:200])
        audit_record(
            actor=actor, action=AuditAction.CREATE, obj=donation,
            summary=f"donation to {station.code} ({giver_kind})", jurisdiction_path=station.jurisdiction.path,
        )
    return donation


# ---- check-ins, condition reports, reviews ----------------------------------------


@dataclass
class CheckInResult:
    checkin: CheckIn
    station: Station
    counted: bool


def checkin_create(*, actor, token: str) -> CheckInResult:
    """Check in by the station's QR token. A repeat within the dedup window
    (settings.YIZHAN_CHECKIN_DEDUP_MINUTES) of the user's last counted check-in
    there is kept with ``counted=False`` and does not move the visit count."""
    from yizhan.accounts.models import User
    from yizhan.stations.qr import qr_token_verify

    _require_login(actor)
    station = qr_token_verify(token=token)
    window = timedelta(minutes=settings.YIZHAN_CHECKIN_DEDUP_MINUTES)
    with transaction.atomic():
        # Serialise this user's check-ins (the dedup key is per user): the check and
        # the insert below cannot interleave with a second scan of the same user.
        User.objects.select_for_update().filter(pk=actor.pk).values_list("pk", flat=True).first()
        now = timezone.now()
        recent = CheckIn.objects.filter(user=actor, station=station, counted=True, at__gt=now - window).exists()
        checkin = CheckIn.objects.create(station=station, user=actor, counted=not recent)
        if not recent:
            Station.objects.filter(pk=station.pk).update(visit_count=F("visit_count") + 1)
        audit_record(
            actor=actor, action=AuditAction.CREATE, obj=checkin,
            summary=f"check-in at {station.code}" + ("" if not recent else " (repeat, not counted)"),
            jurisdiction_path=station.jurisdiction.path,
        )
    station.refresh_from_db(fields=["visit_count"])
    return CheckInResult(checkin=checkin, station=station, counted=not recent)


def condition_report_create(
    *, actor, station: Station, kind: str, note: str = "", checkin: CheckIn | None = None
) -> ConditionReport:
    """What a worker found. Sets the station's "last confirmed" time; anything but
    "all good" alerts the keepers (kind "station_condition")."""
    _require_login(actor)
    if station.status == StationStatus.REMOVED:
        raise E.StationRemoved()
    if kind not in ConditionKind.values:
        raise E.UnknownConditionKind()
    note = _text(note, field="note", limit=300)
    if checkin is not None and (checkin.user_id != actor.pk or checkin.station_id != station.pk):
        raise E.InvalidCheckIn()
    with transaction.atomic():
        report = ConditionReport.objects.create(station=station, checkin=checkin, user=actor, kind=kind, note=note)
        now = timezone.now()
        Station.objects.filter(pk=station.pk).update(last_confirmed_at=now)
        station.last_confirmed_at = now
        if kind != ConditionKind.ALL_GOOD:
            label = report.get_kind_display()
            title = Message(f"{station.name}：{label}", f"{station.name}: {kind.replace('_', ' ')}")
            body = Message(note or "一位劳动者在签到时反馈了此情况。", note or "A worker reported this when checking in.")
            for link in StationKeeper.objects.filter(station=station).select_related("user"):
                notify(user=link.user, kind="station_condition", title=title, body=body,
                       url=f"/keeper/stations/{station.code}/#reports")
        audit_record(
            actor=actor, action=AuditAction.CREATE, obj=report, summary=f"condition {kind} at {station.code}",
            jurisdiction_path=station.jurisdiction.path,
        )
        _schedule_index_refresh()
    return report


def condition_report_resolve(*, actor, report: ConditionReport) -> ConditionReport:
    station = report.station
    require_station_stock(actor=actor, station=station)
    with transaction.atomic():
        now = timezone.now()
        done = ConditionReport.objects.filter(pk=report.pk, resolved_at__isnull=True).update(
            resolved_at=now, resolved_by=actor
        )
        if not done:
            raise E.ReportAlreadyResolved()
        report.refresh_from_db()
        audit_record(
            actor=actor, action=AuditAction.UPDATE, obj=report, summary=f"condition report resolved at {station.code}",
            jurisdiction_path=station.jurisdiction.path,
        )
    return report


def review_upsert(*, actor, station: Station, rating: int, comment: str = "") -> StationReview:
    """One review per user and station; a second one replaces the first. The
    station's rating_sum/rating_count move by the difference, under the station lock."""
    _require_login(actor)
    if station.status == StationStatus.REMOVED:
        raise E.StationRemoved()
    if not _is_int(rating) or not 1 <= rating <= 5:
        raise E.InvalidRating()
    comment = _text(comment, field="comment", limit=500)
    with transaction.atomic():
        Station.objects.select_for_update().filter(pk=station.pk).values_list("pk", flat=True).first()
        review = StationReview.objects.select_for_update().filter(station=station, user=actor).first()
        if review is None:
            review = StationReview.objects.create(station=station, user=actor, rating=rating, comment=comment)
            Station.objects.filter(pk=station.pk).update(
                rating_sum=F("rating_sum") + rating, rating_count=F("rating_count") + 1
            )
            action, changes = AuditAction.CREATE, {"rating": rating}
        else:
            old = review.rating
            review.rating, review.comment = rating, comment
            review.save(update_fields=["rating", "comment", "updated_at"])
            if rating != old:
                Station.objects.filter(pk=station.pk).update(rating_sum=F("rating_sum") + (rating - old))
            action, changes = AuditAction.UPDATE, {"rating": [old, rating]}
        audit_record(
            actor=actor, action=action, obj=review, summary=f"review of {station.code}", changes=changes,
            jurisdiction_path=station.jurisdiction.path,
        )
    station.refresh_from_db(fields=["rating_sum", "rating_count"])
    return review


# ---- photos ----------------------------------------------------------------------

MAX_PHOTOS_PER_STATION = 12


def station_photo_add(*, actor, station: Station, upload, caption: str = "") -> StationPhoto:
    """A photo of the station (keeper or admin). Checked by content, at most 10 MB,
    re-encoded so no EXIF (GPS) survives; at most 12 per station."""
    from yizhan.core.images import image_clean

    require_station_stock(actor=actor, station=station)
    caption = _text(caption, field="caption", limit=100)
    clean = image_clean(upload, field="photo")
    with transaction.atomic():
        Station.objects.select_for_update().filter(pk=station.pk).first()
        if StationPhoto.objects.filter(station=station).count() >= MAX_PHOTOS_PER_STATION:
            raise E.TooManyPhotos()
        photo = StationPhoto(station=station, caption=caption, uploaded_by=actor)
        photo.image.save(clean.name, clean, save=False)
        photo.save()
        audit_record(
            actor=actor, action=AuditAction.CREATE, obj=photo, summary=f"{station.code} photo",
            jurisdiction_path=station.jurisdiction.path,
        )
    return photo


def station_photo_remove(*, actor, station: Station, photo: StationPhoto) -> None:
    require_station_stock(actor=actor, station=station)
    if photo.station_id != station.pk:
        raise E.PhotoNotFound()
    with transaction.atomic():
        audit_record(
            actor=actor, action=AuditAction.DELETE, obj=photo, summary=f"{station.code} photo removed",
            jurisdiction_path=station.jurisdiction.path,
        )
        name = photo.image.name
        photo.delete()
        transaction.on_commit(lambda: photo.image.storage.delete(name))
