"""Supplies: stock movements, thresholds, the bulk set, donations."""


from __future__ import annotations

from datetime import date

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from yizhan.core.audit import audit_entry, audit_record
from yizhan.core.errors import Message
from yizhan.core.models import AuditAction, AuditLog
from yizhan.core.notifications import notify
from yizhan.stations import errors as E
from yizhan.stations.choices import (
    GiverKind,
    StockMovementKind,
    SupplyItem,
)
from yizhan.stations.models import (
    Donation,
    Station,
    StationKeeper,
    StationSupply,
    StockMovement,
)
from yizhan.stations.selectors import require_station_stock
from yizhan.stations.services.common import (
    MAX_QUANTITY,
    _clean_date,
    _is_int,
    _text,
)

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
