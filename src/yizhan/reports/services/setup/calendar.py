"""The working calendar of a jurisdiction: weekly hours, holidays and make-up days."""

from __future__ import annotations

import copy
from datetime import date

from django.db import IntegrityError, transaction

from yizhan.core.audit import audit_record
from yizhan.core.errors import (
    AppError,
    Message,
)
from yizhan.core.models import AuditAction
from yizhan.reports.models import (
    CalendarDay,
    WorkCalendar,
)
from yizhan.reports.services.setup.common import (
    CalendarDayNotFound,
    CalendarEmpty,
    CalendarInvalidDate,
    InvalidCalendar,
    _bool,
    _require_scope,
    _text,
)
from yizhan.stations.hours import DAYS, validate_hours, validate_intervals

__all__ = ["calendar_set", "calendar_day_set", "calendar_day_remove"]


# ---- working calendar ------------------------------------------------------------------


def _clean_date(value, *, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise CalendarInvalidDate(field=field) from None


def _clean_hours(hours) -> dict:
    try:
        clean = validate_hours(hours or {})
    except AppError as err:
        err.field = err.field or "hours"
        raise
    if not any(clean.values()):
        raise CalendarEmpty()
    return clean


def _clean_day(entry, *, hours: dict, field: str = "days") -> dict:
    if not isinstance(entry, dict):
        raise InvalidCalendar(Message("节假日安排格式有误", "Holiday entries are malformed"), field=field)
    day = _clean_date(entry.get("date"), field=f"{field}.date" if field == "days" else "date")
    is_workday = _bool(entry.get("is_workday", False), field="is_workday")
    intervals = []
    if is_workday:
        try:
            intervals = validate_intervals(entry.get("intervals") or [], field="intervals")
        except AppError as err:
            err.field = "intervals" if field != "days" else f"days.{day.isoformat()}"
            raise
        if not intervals:  # a make-up day works the usual hours of a working day
            intervals = next((ivs for d in DAYS if (ivs := hours.get(d))), [])
    note = _text(entry.get("note"), field="note", limit=60)
    return {"date": day, "is_workday": is_workday, "intervals": intervals, "note": note}


def _calendar_for_update(jurisdiction, hours: dict | None = None) -> tuple[WorkCalendar, bool]:
    cal = WorkCalendar.objects.select_for_update().filter(jurisdiction=jurisdiction).first()
    if cal is not None:
        return cal, False
    from yizhan.reports.calendar import calendar_spec_for

    inherited = copy.deepcopy(calendar_spec_for(jurisdiction=jurisdiction).hours)  # the cached spec is shared
    try:
        with transaction.atomic():
            return WorkCalendar.objects.create(jurisdiction=jurisdiction, hours=hours or inherited), True
    except IntegrityError:  # created concurrently
        return WorkCalendar.objects.select_for_update().get(jurisdiction=jurisdiction), False


def _calendar_changed(cal: WorkCalendar | None = None) -> None:
    """The per-process calendar cache (``reports.calendar``): forget it now (this thread
    sees its own writes) and again once committed; touch the calendar's ``updated_at``
    so other processes' stamp changes even when only a day's row changed in place."""
    from yizhan.reports.calendar import calendar_cache_forget

    if cal is not None:
        cal.save(update_fields=["updated_at"])
    calendar_cache_forget()
    transaction.on_commit(calendar_cache_forget)


def calendar_set(*, actor, jurisdiction, hours: dict, days: list[dict] | None = None) -> WorkCalendar:
    """Set the weekly working hours of ``jurisdiction`` and, when ``days`` is given,
    replace its holidays and make-up working days:
    ``[{"date": "2026-10-01", "is_workday": False, "intervals": [], "note": "国庆节"}]``.
    A make-up day without intervals works the hours of the first working weekday."""
    _require_scope(actor, jurisdiction)
    clean_hours = _clean_hours(hours)
    clean_days = None
    if days is not None:
        if not isinstance(days, (list, tuple)):
            raise InvalidCalendar(Message("节假日安排应为列表", "Days must be a list"), field="days")
        if len(days) > 400:
            raise InvalidCalendar(Message("节假日安排最多 400 天", "At most 400 special days"), field="days")
        by_date = {}
        for entry in days:
            d = _clean_day(entry, hours=clean_hours)
            by_date[d["date"]] = d
        clean_days = sorted(by_date.values(), key=lambda d: d["date"])
    with transaction.atomic():
        cal, created = _calendar_for_update(jurisdiction, clean_hours)
        changes = {}
        if cal.hours != clean_hours:
            changes["hours"] = [cal.hours, clean_hours]
            cal.hours = clean_hours
            cal.save(update_fields=["hours", "updated_at"])
        if clean_days is not None:
            old = [_day_json(d) for d in cal.days.all()]
            new = [_day_json(d) for d in clean_days]
            if old != new:
                changes["days"] = [old, new]
                cal.days.all().delete()
                CalendarDay.objects.bulk_create([CalendarDay(calendar=cal, **d) for d in clean_days])
        if changes or created:
            audit_record(actor=actor, action=AuditAction.CREATE if created else AuditAction.UPDATE, obj=cal,
                         summary=f"working calendar of {jurisdiction.code}", changes=changes,
                         jurisdiction_path=jurisdiction.path)
            _calendar_changed(cal if "days" in changes and "hours" not in changes else None)
    return cal


def _day_json(day) -> dict:
    get = day.get if isinstance(day, dict) else lambda k: getattr(day, k)
    return {"date": get("date").isoformat(), "is_workday": get("is_workday"), "intervals": get("intervals"),
            "note": get("note")}


def calendar_day_set(*, actor, jurisdiction, date, is_workday: bool = False, intervals=(), note="") -> CalendarDay:
    """Add or change one holiday / make-up working day (the calendar is created with
    the inherited hours when the jurisdiction has none yet)."""
    _require_scope(actor, jurisdiction)
    with transaction.atomic():
        cal, created = _calendar_for_update(jurisdiction)
        clean = _clean_day({"date": date, "is_workday": is_workday, "intervals": list(intervals or []),
                            "note": note}, hours=cal.hours, field="")
        day, day_created = CalendarDay.objects.update_or_create(
            calendar=cal, date=clean["date"],
            defaults={k: clean[k] for k in ("is_workday", "intervals", "note")})
        audit_record(actor=actor, action=AuditAction.CREATE if day_created else AuditAction.UPDATE, obj=cal,
                     summary=f"calendar day {clean['date']} of {jurisdiction.code}",
                     changes={"day": _day_json(clean)}, jurisdiction_path=jurisdiction.path)
        _calendar_changed(cal)
    return day


def calendar_day_remove(*, actor, jurisdiction, date) -> None:
    _require_scope(actor, jurisdiction)
    day_date = _clean_date(date, field="date")
    with transaction.atomic():
        day = CalendarDay.objects.filter(calendar__jurisdiction=jurisdiction, date=day_date).first()
        if day is None:
            raise CalendarDayNotFound()
        audit_record(actor=actor, action=AuditAction.DELETE, obj=day.calendar,
                     summary=f"calendar day {day_date} of {jurisdiction.code} removed",
                     changes={"day": _day_json(day)}, jurisdiction_path=jurisdiction.path)
        cal = day.calendar
        day.delete()
        _calendar_changed(cal)
