"""331 inspections (331 整治) of rental houses and other places.

``inspection_create`` records one check: per room the four safety items (四件套:
extinguisher, escape rope, smoke mask, emergency light), flying-wire charging (飞线充电),
people sleeping in a garage or shed, whether the escape routes are clear, findings and
photos (``core.images.image_clean``: by content, re-encoded, no EXIF). The result is
derived: any missing item or hazard fails it (an inspector may also fail a check for a
hazard written in the findings). A failed check gets a follow-up deadline (default 7
days, 1–90) and a hazard case in the reports workflow at the place's location with the
photos; its state is ``rectifying``. ``inspection_rectify`` records the rectification
(the workflow ``INSPECTION``); ``inspection_overdue_sweep`` (scheduler) marks the ones
past their deadline overdue and tells the inspector once.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from yizhan.core import permissions
from yizhan.core.audit import audit_record
from yizhan.core.errors import AppError, Message
from yizhan.core.images import image_clean
from yizhan.core.models import AuditAction
from yizhan.core.text import clean_text
from yizhan.core.tz import SHANGHAI
from yizhan.core.workflow import workflow_transition
from yizhan.reports.models import Category
from yizhan.reports.services.cases.submit import case_submit
from yizhan.safety import errors as E
from yizhan.safety.choices import InspectionResult, InspectionState
from yizhan.safety.models import Inspection, InspectionPhoto, Place
from yizhan.safety.services.places import clean_str
from yizhan.safety.workflow import INSPECTION

log = logging.getLogger("yizhan.safety.inspections")

INSPECT = "safety.inspect"
ITEMS = ("extinguisher", "escape_rope", "smoke_mask", "emergency_light")
ITEM_LABELS = {"extinguisher": Message("灭火器", "extinguisher"), "escape_rope": Message("逃生绳", "escape rope"),
               "smoke_mask": Message("防烟面罩", "smoke mask"), "emergency_light": Message("应急灯", "emergency light")}
MAX_ROOMS = 200
MAX_PHOTOS = 9
CASE_PHOTOS = 3  # what a reports case takes
DEFAULT_FOLLOW_UP_DAYS = 7
MAX_FOLLOW_UP_DAYS = 90
MAX_FINDINGS = 2000
MAX_BACKDATE = dt.timedelta(days=30)
# the reports category of the hazard case, by what failed (the first that exists is used)
CATEGORY_FLYING_WIRE = "flying_wire_charging"
CATEGORY_EXIT = "blocked_fire_exit"
CATEGORY_EQUIPMENT = "fire_equipment"


def _flag(value, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1, "0", "1", "true", "false", "on", "off", "yes", "no", "", None):
        return value in (1, "1", "true", "on", "yes")
    raise E.InvalidRooms(field=field)


def clean_rooms(rooms) -> list[dict]:
    """``[{"room": "101", "extinguisher": true, ...}]``: a room label (1–32 characters,
    unique) and the four items as booleans (missing = not there)."""
    if rooms is None:
        return []
    if not isinstance(rooms, (list, tuple)) or len(rooms) > MAX_ROOMS:
        raise E.InvalidRooms()
    out, seen = [], set()
    for i, entry in enumerate(rooms):
        if not isinstance(entry, dict):
            raise E.InvalidRooms(field=f"rooms[{i}]")
        label = entry.get("room")
        label = clean_text(str(label)) if isinstance(label, (str, int)) and not isinstance(label, bool) else ""
        if not label or len(label) > 32 or label in seen:
            raise E.InvalidRooms(field=f"rooms[{i}].room")
        seen.add(label)
        out.append({"room": label, **{item: _flag(entry.get(item, False), f"rooms[{i}].{item}") for item in ITEMS}})
    return out


def missing_items(rooms: list[dict]) -> dict[str, list[str]]:
    """item -> the rooms where it is missing."""
    return {item: [r["room"] for r in rooms if not r[item]] for item in ITEMS if any(not r[item] for r in rooms)}


def _photos(photos) -> list[bytes]:
    photos = [p for p in (photos or ()) if p is not None]
    if len(photos) > MAX_PHOTOS:
        raise E.InspectionTooManyPhotos(limit=MAX_PHOTOS)
    out = []
    for p in photos:
        content = image_clean(p, field="photos")
        content.seek(0)
        out.append((content.name, content.read()))
    return out


def _local_date(when: dt.datetime) -> dt.date:
    return timezone.localtime(when, SHANGHAI).date()


def _follow_up(value, inspected_on: dt.date) -> dt.date:
    if value in (None, ""):
        return inspected_on + dt.timedelta(days=DEFAULT_FOLLOW_UP_DAYS)
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            raise E.InvalidFollowUp() from None
    if not 1 <= (value - inspected_on).days <= MAX_FOLLOW_UP_DAYS:
        raise E.InvalidFollowUp()
    return value


def _inspected_at(value, now: dt.datetime) -> dt.datetime:
    if value in (None, ""):
        return now
    if not isinstance(value, dt.datetime):
        try:
            value = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise E.InvalidInspectionTime() from None
    if timezone.is_naive(value):
        value = value.replace(tzinfo=SHANGHAI)
    if value > now + dt.timedelta(minutes=5) or value < now - MAX_BACKDATE:
        raise E.InvalidInspectionTime()
    return value


def problems_text(ins: Inspection) -> Message:
    """What failed, in Chinese and English (the hazard case's description)."""
    zh, en = [], []
    for item, rooms in missing_items(ins.rooms).items():
        label = ITEM_LABELS[item]
        zh.append(f"{len(rooms)} 间房缺{label.zh}（{'、'.join(rooms[:10])}{'等' if len(rooms) > 10 else ''}）")
        en.append(f"{label.en} missing in {len(rooms)} room(s)")
    if ins.flying_wire_charging:
        zh.append("飞线充电")
        en.append("flying-wire charging")
    if ins.garage_sleeping:
        zh.append("车库（棚）住人")
        en.append("people sleeping in a garage")
    if not ins.escape_routes_clear:
        zh.append("疏散通道不畅")
        en.append("escape routes blocked")
    return Message("；".join(zh), "; ".join(en))


def _category_code(ins: Inspection) -> str | None:
    order = [CATEGORY_EQUIPMENT, CATEGORY_EXIT, CATEGORY_FLYING_WIRE]
    if not ins.escape_routes_clear:
        order.insert(0, CATEGORY_EXIT)
    if ins.flying_wire_charging:
        order.insert(0, CATEGORY_FLYING_WIRE)
    active = set(Category.objects.filter(code__in=order, active=True).values_list("code", flat=True))
    return next((code for code in order if code in active), None)


def _hazard_case(*, actor, ins: Inspection, photos: list[tuple[str, bytes]]):
    """The reports case for a failed check (None when no hazard category is installed
    or the place lies outside every jurisdiction: the check still stands, and says so
    in its audit row)."""
    code = _category_code(ins)
    if code is None:
        return None, "no_hazard_category"
    place = ins.place
    problems = problems_text(ins)
    description = f"【消防检查不合格】{place.name}：{problems.zh}。整改期限 {ins.follow_up_due}。"
    if ins.findings:
        description += f"\n{ins.findings}"
    building = place.parent.name if place.parent_id else place.name
    try:
        result = case_submit(
            actor=actor, category=code, lat=place.lat, lng=place.lng, description=description[:4000],
            address=place.address[:200], details={"building": building[:100]}, source="staff",
            photos=[ContentFile(data, name=name) for name, data in photos[:CASE_PHOTOS]],
            idempotency_key=f"safety-inspection-{ins.pk}",
        )
    except AppError as err:  # e.g. the place's point is outside every boundary
        log.warning("inspection %s: no hazard case (%s)", ins.pk, err.code)
        return None, err.code
    return result.case, ""


def inspection_create(*, actor, place: Place, rooms=(), flying_wire_charging=False, garage_sleeping=False,
                      escape_routes_clear=True, findings: str = "", result: str | None = None,
                      follow_up_due=None, photos=(), inspected_at=None) -> Inspection:
    """Record a check of ``place`` (module docstring). The actor needs ``safety.inspect``
    on the place's jurisdiction."""
    permissions.require(actor, INSPECT, place.jurisdiction)
    if not place.active:
        raise E.PlaceInactive()
    now = timezone.now()
    when = _inspected_at(inspected_at, now)
    clean = clean_rooms(rooms)
    flying = _flag(flying_wire_charging, "flying_wire_charging")
    garage = _flag(garage_sleeping, "garage_sleeping")
    exits_clear = _flag(escape_routes_clear, "escape_routes_clear")
    findings = clean_str(findings, field="findings", limit=MAX_FINDINGS, multiline=True)
    if result not in (None, "", *InspectionResult.values):
        raise E.InvalidRooms(field="result")
    failed = bool(missing_items(clean)) or flying or garage or not exits_clear or result == InspectionResult.FAILED
    files = _photos(photos)
    due = _follow_up(follow_up_due, _local_date(when)) if failed else None
    with transaction.atomic():
        ins = Inspection.objects.create(
            place=place, jurisdiction=place.jurisdiction, inspector=actor, inspected_at=when, rooms=clean,
            flying_wire_charging=flying, garage_sleeping=garage, escape_routes_clear=exits_clear,
            result=InspectionResult.FAILED if failed else InspectionResult.PASSED,
            state=InspectionState.RECTIFYING if failed else InspectionState.PASSED,
            findings=findings, follow_up_due=due,
        )
        _save_photos(ins, files, stage="inspection")
        case, no_case = (None, "")
        if failed:
            case, no_case = _hazard_case(actor=actor, ins=ins, photos=files)
            if case is not None:
                ins.case = case
                ins.save(update_fields=["case", "updated_at"])
        audit_record(
            actor=actor, action=AuditAction.CREATE, obj=ins,
            summary=f"inspection of {place.code}: {ins.result}",
            changes={"place": place.code, "result": ins.result, "rooms": len(clean), "photos": len(files),
                     "follow_up_due": due.isoformat() if due else None,
                     "case": case.number if case is not None else None, **({"no_case": no_case} if no_case else {})},
            jurisdiction_path=place.jurisdiction.path,
        )
    return ins


def _save_photos(ins: Inspection, files: list[tuple[str, bytes]], *, stage: str) -> None:
    for name, data in files:
        photo = InspectionPhoto(inspection=ins, stage=stage)
        photo.image.save(name, ContentFile(data), save=False)
        photo.save()


def inspection_rectify(*, actor, inspection: Inspection, note: str = "", photos=()) -> Inspection:
    """The hazards found are fixed (with optional photos of the result)."""
    note = clean_str(note, field="note", limit=300, multiline=True)
    files = _photos(photos)

    def apply(row, step):
        row.rectified_at = step.now

    def after(row, step):
        _save_photos(row, files, stage="rectified")

    step = workflow_transition(INSPECTION, obj=inspection, action="rectify", actor=actor, note=note,
                               apply=apply, data={"photos": len(files)})
    after(step.obj, step)
    return step.obj


def inspection_overdue_sweep(*, today: dt.date | None = None, limit: int = 1000) -> int:
    """Mark the checks still rectifying after their deadline overdue (one transition
    each, system; the inspector is told). Reads the (state, follow_up_due) rows only.
    Returns how many moved."""
    today = today or timezone.localdate(timezone=SHANGHAI)
    due = list(Inspection.objects.filter(state=InspectionState.RECTIFYING, follow_up_due__lt=today)
               .order_by("follow_up_due", "id").values_list("pk", flat=True)[:limit])
    moved = 0
    for pk in due:
        def apply(row, step):
            if row.inspector_id is not None:
                step.tell.append(([row.inspector], "safety_inspection_overdue",
                                  Message(f"整改逾期：{row.place.name}", f"Rectification overdue: {row.place.name}"),
                                  Message(f"整改期限 {row.follow_up_due}，尚未整改", f"Due {row.follow_up_due}, not rectified"),
                                  f"/safety/inspections/{row.pk}/"))

        try:
            workflow_transition(INSPECTION, obj=pk, action="expire", actor=None, system=True, apply=apply)
        except AppError:  # rectified meanwhile
            continue
        moved += 1
    return moved
