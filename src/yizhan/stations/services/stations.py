"""Stations: create, update, open/close/remove."""


from __future__ import annotations

from django.db import IntegrityError, transaction

from yizhan.core import permissions
from yizhan.core.audit import audit_record
from yizhan.core.models import AuditAction
from yizhan.stations import errors as E
from yizhan.stations.choices import (
    StationStatus,
)
from yizhan.stations.models import (
    Station,
)
from yizhan.stations.services.common import (
    STATION_FIELDS,
    STATUS_TRANSITIONS,
    _apply,
    _first_error,
    _jsonable,
    _replace_holidays,
    _schedule_index_refresh,
    _text,
    station_clean,
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
