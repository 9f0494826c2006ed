"""Writes that set the reports app up: the category taxonomy and its time limits,
departments and their members, the working calendar, the grid duty roster and the
reply templates.

Every service takes keyword-only arguments with ``actor`` first, checks
``reports.configure`` (district and city admins) through ``core.permissions``, runs
in one transaction and leaves an audit row in it. Categories are global (one
taxonomy for the platform), so editing one needs ``reports.configure`` on any node;
everything else is checked on its jurisdiction. ``actor=None`` is the system (seed
data, demo, tests) and is only accepted by the two loaders of the shipped data.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date, time
from functools import cache
from pathlib import Path

from django.db import IntegrityError, transaction

from yizhan.core import permissions
from yizhan.core.audit import audit_record
from yizhan.core.errors import (
    AppError,
    Conflict,
    DefaultField,
    Message,
    NotFound,
    OutOfJurisdiction,
    ValidationError,
)
from yizhan.core.models import AuditAction
from yizhan.jurisdictions.choices import Level
from yizhan.reports.choices import CaseAction, CategoryKind, Clock, Urgency
from yizhan.reports.models import (
    CalendarDay,
    Category,
    Department,
    DepartmentMember,
    GridDuty,
    ReplyTemplate,
    WorkCalendar,
)
from yizhan.stations.hours import DAYS, validate_hours, validate_intervals

__all__ = [
    "LIMIT_FIELDS",
    "category_taxonomy_load",
    "category_update",
    "category_override_reset",
    "require_platform_configure",
    "department_defaults_create",
    "department_create",
    "department_update",
    "department_member_add",
    "department_member_remove",
    "calendar_set",
    "calendar_day_set",
    "calendar_day_remove",
    "grid_duty_set",
    "grid_duty_remove",
    "reply_template_save",
    "reply_template_delete",
    "taxonomy_data",
    "default_departments_data",
]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
CONFIGURE = "reports.configure"
LIMIT_FIELDS = ("accept_minutes", "dispatch_minutes", "handle_minutes", "verify_minutes", "close_minutes")
MAX_LIMIT_MINUTES = 366 * 24 * 60  # a year of minutes; longer is a typo
CODE_RE = re.compile(r"^[a-z0-9_]{1,40}$")
FIELD_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
EXTRA_FIELD_TYPES = ("text", "number", "select")
PHONE_RE = re.compile(r"^[0-9+\-() ]{3,20}$")


# ---- errors (setup section; the shared ones are in reports/errors.py) ------------------


class InvalidSetting(ValidationError):
    code = "invalid_setting"
    message = Message("填写有误", "Invalid value")


class InvalidLimit(InvalidSetting):
    code = "invalid_limit"
    message = Message("时限须为 1 到 {max} 之间的整数（分钟）", "A time limit is a whole number of minutes, 1 to {max}")


class UnknownDepartment(InvalidSetting):
    code = "unknown_department"
    message = Message("没有编码为“{dept}”的部门", "No department has the code '{dept}'")


class InvalidExtraFields(InvalidSetting):
    code = "invalid_extra_fields"
    message = Message("附加字段格式有误：{detail}", "Extra fields are malformed: {detail_en}")


class InvalidCalendar(InvalidSetting):
    code = "invalid_calendar"
    message = Message("工作日历有误", "The working calendar is invalid")


class DepartmentCodeTaken(DefaultField, Conflict):
    code = "department_code_taken"
    default_field = "code"
    message = Message("该辖区已有此编码的部门", "This jurisdiction already has a department with this code")


class DepartmentMemberNotFound(NotFound):
    code = "department_member_not_found"
    message = Message("此人不是该部门成员", "This person is not a member of the department")


class NotAGrid(InvalidSetting):
    code = "not_a_grid"
    message = Message("值班表只能设在网格上", "A duty roster belongs to a grid")


class NotAGridWorker(InvalidSetting):
    code = "not_a_grid_worker"
    message = Message("此人不是该网格的网格员", "This person is not a grid worker of this grid")


# ---- helpers ---------------------------------------------------------------------------


def _text(value, *, field: str, limit: int, required: bool = False, label: Message | None = None) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        what = label or Message(field, field)
        raise InvalidSetting(Message(f"请填写{what.zh}", f"Please fill in the {what.en}"), code="required",
                             field=field)
    if len(text) > limit:
        raise InvalidSetting(Message(f"最多 {limit} 个字", f"At most {limit} characters"), code="text_too_long",
                             field=field)
    return text


def _choice(value, choices, *, field: str, what: Message) -> str:
    text = "" if value is None else str(value).strip()
    for v, label in choices.choices:
        if text == v or text == str(label):
            return v
    raise InvalidSetting(Message(f"{what.zh}无效：{text or '（空）'}", f"Invalid {what.en}: {text or '(empty)'}"),
                         code=f"invalid_{field}", field=field)


def _bool(value, *, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1, "0", "1", "true", "false", "True", "False", "on", ""):
        return str(value).lower() in ("1", "true", "on")
    raise InvalidSetting(Message("应为是或否", "Must be yes or no"), field=field)


def _limit(value, *, field: str) -> int:
    try:
        if isinstance(value, bool) or value is None or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        minutes = int(str(value).strip()) if not isinstance(value, (int, float)) else int(value)
    except (TypeError, ValueError):
        raise InvalidLimit(field=field, max=MAX_LIMIT_MINUTES) from None
    if not 1 <= minutes <= MAX_LIMIT_MINUTES:
        raise InvalidLimit(field=field, max=MAX_LIMIT_MINUTES)
    return minutes


def _sort(value) -> int:
    try:
        number = int(str(value).strip() or 0)
    except ValueError:
        number = -1
    if not 0 <= number <= 32767:
        raise InvalidSetting(Message("排序须为 0–32767 的整数", "Sort is a whole number 0–32767"), field="sort")
    return number


def _department_code(value, *, field: str = "department_code", must_exist: bool = True) -> str:
    code = "" if value is None else str(value).strip()
    if not CODE_RE.match(code):
        raise InvalidSetting(
            Message("部门编码须为 1–40 位小写字母、数字或 _", "A department code is 1–40 lower-case letters, digits or _"),
            code="invalid_code", field=field,
        )
    if must_exist and code not in _default_department_codes() and not Department.objects.filter(code=code).exists():
        raise UnknownDepartment(field=field, dept=code)
    return code


def clean_extra_fields(value) -> list[dict]:
    """``[{"name", "label", "label_en"?, "required"?, "type"?: text|number|select,
    "choices"?: [...] (select only)}]`` — names unique identifiers."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidExtraFields(field="extra_fields", detail="不是有效的 JSON", detail_en="not valid JSON") from None

    def bad(zh, en):
        return InvalidExtraFields(field="extra_fields", detail=zh, detail_en=en)

    if not isinstance(value, list):
        raise bad("应为列表", "must be a list")
    if len(value) > 10:
        raise bad("最多 10 个", "at most 10")
    out, seen = [], set()
    for item in value:
        if not isinstance(item, dict):
            raise bad("每一项应为对象", "each item must be an object")
        unknown = set(item) - {"name", "label", "label_en", "required", "type", "choices"}
        if unknown:
            key = sorted(unknown)[0]
            raise bad(f"未知的键 {key}", f"unknown key {key}")
        name = item.get("name")
        if not isinstance(name, str) or not FIELD_NAME_RE.match(name):
            raise bad("name 须为小写字母开头的标识符", "name must be a lower-case identifier")
        if name in seen:
            raise bad(f"name 重复：{name}", f"duplicate name {name}")
        seen.add(name)
        label = item.get("label")
        if not isinstance(label, str) or not label.strip() or len(label) > 30:
            raise bad(f"{name} 缺少 label（最多 30 字）", f"{name} needs a label (at most 30 characters)")
        label_en = item.get("label_en", "")
        if not isinstance(label_en, str) or len(label_en) > 60:
            raise bad(f"{name} 的 label_en 有误", f"{name}: bad label_en")
        required = item.get("required", False)
        if not isinstance(required, bool):
            raise bad(f"{name} 的 required 应为 true/false", f"{name}: required must be true or false")
        ftype = item.get("type", "text")
        if ftype not in EXTRA_FIELD_TYPES:
            raise bad(f"{name} 的 type 应为 text、number 或 select", f"{name}: type must be text, number or select")
        clean = {"name": name, "label": label.strip(), "label_en": label_en.strip(), "required": required,
                 "type": ftype}
        if ftype == "select":
            choices = item.get("choices")
            if (not isinstance(choices, list) or not choices or len(choices) > 30
                    or not all(isinstance(c, str) and c.strip() and len(c) <= 30 for c in choices)):
                raise bad(f"{name} 须有 1–30 个选项", f"{name} needs 1–30 choices")
            clean["choices"] = [c.strip() for c in choices]
        elif "choices" in item:
            raise bad(f"只有 select 类型有 choices（{name}）", f"only select fields have choices ({name})")
        out.append(clean)
    return out


CATEGORY_CLEANERS = {
    "name": lambda v: _text(v, field="name", limit=60, required=True, label=Message("名称", "name")),
    "name_en": lambda v: _text(v, field="name_en", limit=100),
    "icon": lambda v: _text(v, field="icon", limit=8),
    "group_name": lambda v: _text(v, field="group_name", limit=60, required=True, label=Message("大类名称", "group")),
    "group_name_en": lambda v: _text(v, field="group_name_en", limit=100),
    "description": lambda v: _text(v, field="description", limit=300),
    "description_en": lambda v: _text(v, field="description_en", limit=400),
    "filing_conditions": lambda v: _text(v, field="filing_conditions", limit=2000),
    "closing_conditions": lambda v: _text(v, field="closing_conditions", limit=2000),
    "department_code": lambda v: _department_code(v),
    "urgency": lambda v: _choice(v, Urgency, field="urgency", what=Message("紧急程度", "urgency")),
    "clock": lambda v: _choice(v, Clock, field="clock", what=Message("计时方式", "clock")),
    **{f: (lambda v, f=f: _limit(v, field=f)) for f in LIMIT_FIELDS},
    "extra_fields": clean_extra_fields,
    "keywords": lambda v: _text(v, field="keywords", limit=200),
    "is_hazard": lambda v: _bool(v, field="is_hazard"),
    "active": lambda v: _bool(v, field="active"),
    "sort": lambda v: _sort(v),
}


def category_clean(data: dict) -> tuple[dict, list[AppError]]:
    """Clean the editable keys of ``data`` (unknown keys ignored); every error at once."""
    cleaned, errors = {}, []
    for key, fn in CATEGORY_CLEANERS.items():
        if key in data:
            try:
                cleaned[key] = fn(data[key])
            except AppError as err:
                errors.append(err)
    return cleaned, errors


def _apply(obj, cleaned: dict) -> dict:
    changes = {}
    for key, value in cleaned.items():
        old = getattr(obj, key)
        if old != value:
            changes[key] = [old, value]
            setattr(obj, key, value)
    return changes


def _require_scope(actor, jurisdiction) -> None:
    permissions.require(actor, CONFIGURE, jurisdiction)


# ---- the shipped data ------------------------------------------------------------------


@cache
def taxonomy_data() -> tuple[dict, ...]:
    """``data/categories.json``: the seeded 数字城管-style taxonomy (read once)."""
    with open(DATA_DIR / "categories.json", encoding="utf-8") as fh:
        return tuple(json.load(fh))


@cache
def default_departments_data() -> tuple[dict, ...]:
    with open(DATA_DIR / "departments.json", encoding="utf-8") as fh:
        return tuple(json.load(fh))


@cache
def _default_department_codes() -> frozenset[str]:
    return frozenset(d["code"] for d in default_departments_data())


def category_taxonomy_load(*, actor=None, overwrite: bool = False) -> int:
    """Upsert ``data/categories.json``: missing categories are created; existing ones
    keep what admins changed unless ``overwrite``. Returns how many rows were written
    (0 when run again). ``actor`` None is the system (migrations, demo, tests)."""
    if actor is not None:
        require_platform_configure(actor)
    written = 0
    with transaction.atomic():
        existing = {c.code: c for c in Category.objects.select_for_update()}
        for entry in taxonomy_data():
            values = {k: v for k, v in entry.items() if k != "code"}
            values["kind"] = _choice(values.get("kind"), CategoryKind, field="kind",
                                     what=Message("类型", "kind"))
            cat = existing.get(entry["code"])
            if cat is None:
                Category.objects.create(code=entry["code"], **values)
                written += 1
            elif overwrite:
                changes = _apply(cat, values)
                if changes:
                    cat.save()
                    written += 1
        if written:
            audit_record(actor=actor, action=AuditAction.IMPORT, object_type="reports.category",
                         summary=f"category taxonomy loaded: {written} written"
                                 + (" (overwrite)" if overwrite else ""))
    return written


def department_defaults_create(*, actor, jurisdiction) -> list[Department]:
    """The standard departments (``data/departments.json``) of ``jurisdiction``
    (usually a district); existing codes are kept as they are. Idempotent."""
    if actor is not None:
        _require_scope(actor, jurisdiction)
    with transaction.atomic():
        have = {d.code: d for d in Department.objects.filter(jurisdiction=jurisdiction)}
        created = []
        for entry in default_departments_data():
            if entry["code"] in have:
                continue
            dept = Department.objects.create(
                jurisdiction=jurisdiction, code=entry["code"], name=entry["name"],
                name_en=entry.get("name_en", ""), phone=entry.get("phone", ""),
            )
            have[dept.code] = dept
            created.append(dept.code)
        if created:
            audit_record(actor=actor, action=AuditAction.CREATE, object_type="reports.department",
                         summary=f"default departments of {jurisdiction.code}: {', '.join(created)}",
                         jurisdiction_path=jurisdiction.path)
    codes = [d["code"] for d in default_departments_data()]
    return [have[c] for c in codes]


# ---- categories ------------------------------------------------------------------------


def require_platform_configure(actor) -> None:
    """Platform-wide settings (the taxonomy itself, Open311 client keys): configure on
    every root of the tree (city admins of the only city, superusers)."""
    _require_template_scope(actor, None)


def _category_settings_changed() -> None:
    from yizhan.reports.selectors.setup import category_settings_forget

    category_settings_forget()
    transaction.on_commit(category_settings_forget)


def category_update(*, actor, category: Category, data: dict, jurisdiction=None):
    """Edit a category: names, icon, conditions, department, urgency, clock, the five
    stage limits (minutes > 0), extra fields, keywords, hazard flag, active, sort.
    ``code``, ``kind`` and ``group`` are fixed (Open311 clients know the code).

    Without ``jurisdiction``: the platform-wide category (configure on every root).
    With one: that node's own override (``CategorySetting``: department, urgency, clock,
    limits, active; configure there), created from what applies there now; returns the
    override."""
    if jurisdiction is not None:
        return _category_override_save(actor=actor, category=category, data=data, jurisdiction=jurisdiction)
    require_platform_configure(actor)
    cleaned, errors = category_clean(data)
    if errors:
        raise errors[0]
    with transaction.atomic():
        cat = Category.objects.select_for_update().get(pk=category.pk)
        changes = _apply(cat, cleaned)
        if changes:
            cat.save()
            audit_record(actor=actor, action=AuditAction.UPDATE, obj=cat,
                         summary=f"category {cat.code} {cat.name}", changes=changes)
    return cat


def _category_override_save(*, actor, category: Category, data: dict, jurisdiction):
    from yizhan.reports.models import CategorySetting
    from yizhan.reports.selectors.setup import OVERRIDE_FIELDS, category_effective

    _require_scope(actor, jurisdiction)
    for key in data:
        if key not in OVERRIDE_FIELDS:
            raise InvalidSetting(Message(f"辖区不能单独修改 {key}", f"{key} cannot be set for one area"),
                                 code="not_overridable", field=key)
    cleaned, errors = category_clean(data)
    if errors:
        raise errors[0]
    with transaction.atomic():
        Category.objects.select_for_update().get(pk=category.pk)  # serialises concurrent first saves
        row = CategorySetting.objects.select_for_update().filter(category=category, jurisdiction=jurisdiction).first()
        created = row is None
        if created:
            inherited = category_effective(category=category, jurisdiction=jurisdiction)
            row = CategorySetting(category=category, jurisdiction=jurisdiction,
                                  **{f: getattr(inherited, f) for f in OVERRIDE_FIELDS})
        changes = _apply(row, cleaned)
        if created or changes:
            row.save()
            audit_record(actor=actor, action=AuditAction.CREATE if created else AuditAction.UPDATE, obj=row,
                         summary=f"category {category.code} settings of {jurisdiction.code}", changes=changes,
                         jurisdiction_path=jurisdiction.path)
            _category_settings_changed()
    return row


def category_override_reset(*, actor, category: Category, jurisdiction) -> bool:
    """Delete ``jurisdiction``'s override of ``category`` (back to what its parent or the
    platform has); False when there was none."""
    from yizhan.reports.models import CategorySetting

    _require_scope(actor, jurisdiction)
    with transaction.atomic():
        row = CategorySetting.objects.select_for_update().filter(category=category, jurisdiction=jurisdiction).first()
        if row is None:
            return False
        audit_record(actor=actor, action=AuditAction.DELETE, obj=row,
                     summary=f"category {category.code} settings of {jurisdiction.code} reset to default",
                     changes={f: getattr(row, f) for f in ("department_code", "urgency", "clock", "accept_minutes",
                                                           "dispatch_minutes", "handle_minutes", "verify_minutes",
                                                           "close_minutes", "active")},
                     jurisdiction_path=jurisdiction.path)
        row.delete()
        _category_settings_changed()
    return True


# ---- departments -----------------------------------------------------------------------


def _department_fields(*, name, name_en, phone) -> dict:
    phone = _text(phone, field="phone", limit=20)
    if phone and not PHONE_RE.match(phone):
        raise InvalidSetting(Message("电话号码格式有误", "Invalid phone number"), code="invalid_phone", field="phone")
    return {
        "name": _text(name, field="name", limit=100, required=True, label=Message("部门名称", "department name")),
        "name_en": _text(name_en, field="name_en", limit=150),
        "phone": phone,
    }


def department_create(*, actor, jurisdiction, code, name, name_en="", phone="") -> Department:
    _require_scope(actor, jurisdiction)
    code = _department_code(code, field="code", must_exist=False)
    fields = _department_fields(name=name, name_en=name_en, phone=phone)
    with transaction.atomic():
        if Department.objects.filter(jurisdiction=jurisdiction, code=code).exists():
            raise DepartmentCodeTaken()
        try:
            with transaction.atomic():
                dept = Department.objects.create(jurisdiction=jurisdiction, code=code, **fields)
        except IntegrityError:
            raise DepartmentCodeTaken() from None
        audit_record(actor=actor, action=AuditAction.CREATE, obj=dept, summary=f"department {code} {dept.name}",
                     changes={"code": code, **fields}, jurisdiction_path=jurisdiction.path)
    return dept


def department_update(*, actor, department: Department, name, name_en="", phone="",
                      active: bool = True) -> Department:
    _require_scope(actor, department.jurisdiction)
    fields = {**_department_fields(name=name, name_en=name_en, phone=phone), "active": _bool(active, field="active")}
    with transaction.atomic():
        dept = Department.objects.select_for_update().get(pk=department.pk)
        changes = _apply(dept, fields)
        if changes:
            dept.save()
            audit_record(actor=actor, action=AuditAction.UPDATE, obj=dept, summary=f"department {dept.code}",
                         changes=changes, jurisdiction_path=dept.jurisdiction.path)
    return dept


def department_member_add(*, actor, department: Department, user, is_lead: bool = False) -> DepartmentMember:
    """Make ``user`` a member (``is_lead``: receives escalations). A member without
    ``reports.handle`` on the department's jurisdiction gets the handler role there."""
    from yizhan.accounts.services import role_grant

    _require_scope(actor, department.jurisdiction)
    if user is None or not getattr(user, "pk", None) or not user.is_active:
        raise InvalidSetting(Message("请选择有效的人员", "Please choose a valid person"), code="invalid_user",
                             field="user")
    is_lead = _bool(is_lead, field="is_lead")
    with transaction.atomic():
        link, created = DepartmentMember.objects.get_or_create(
            department=department, user=user, defaults={"is_lead": is_lead})
        if not created and link.is_lead != is_lead:
            link.is_lead = is_lead
            link.save(update_fields=["is_lead", "updated_at"])
        if not permissions.can(user, "reports.handle", department.jurisdiction):
            role_grant(actor=actor, user=user, role="handler", jurisdiction=department.jurisdiction)
        audit_record(
            actor=actor, action=AuditAction.CREATE if created else AuditAction.UPDATE, obj=link,
            summary=f"{user.get_username()} member of department {department.code}" + (" (lead)" if is_lead else ""),
            jurisdiction_path=department.jurisdiction.path,
        )
    return link


def department_member_remove(*, actor, department: Department, user) -> None:
    """Unlink a member; drop their handler role there when they are in no other
    department of that jurisdiction."""
    from yizhan.accounts.models import RoleGrant
    from yizhan.accounts.services import role_revoke

    _require_scope(actor, department.jurisdiction)
    with transaction.atomic():
        link = DepartmentMember.objects.filter(department=department, user=user).first()
        if link is None:
            raise DepartmentMemberNotFound(field="user")
        audit_record(actor=actor, action=AuditAction.DELETE, obj=link,
                     summary=f"{user.get_username()} removed from department {department.code}",
                     jurisdiction_path=department.jurisdiction.path)
        link.delete()
        still = DepartmentMember.objects.filter(user=user, department__jurisdiction=department.jurisdiction).exists()
        if not still and RoleGrant.objects.filter(user=user, role="handler",
                                                  jurisdiction=department.jurisdiction).exists():
            role_revoke(actor=actor, user=user, role="handler", jurisdiction=department.jurisdiction)


# ---- working calendar ------------------------------------------------------------------


def _clean_date(value, *, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise InvalidCalendar(Message("日期格式应为 2026-10-01", "Dates look like 2026-10-01"), code="invalid_date",
                              field=field) from None


def _clean_hours(hours) -> dict:
    try:
        clean = validate_hours(hours or {})
    except AppError as err:
        err.field = err.field or "hours"
        raise
    if not any(clean.values()):
        raise InvalidCalendar(Message("每周至少要有一个工作时段", "The week needs at least one working interval"),
                              code="calendar_empty", field="hours")
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
            raise NotFound(Message("该日期没有特别安排", "No special arrangement on this date"),
                           code="calendar_day_not_found", field="date")
        audit_record(actor=actor, action=AuditAction.DELETE, obj=day.calendar,
                     summary=f"calendar day {day_date} of {jurisdiction.code} removed",
                     changes={"day": _day_json(day)}, jurisdiction_path=jurisdiction.path)
        cal = day.calendar
        day.delete()
        _calendar_changed(cal)


# ---- grid duty roster ------------------------------------------------------------------


def _clean_time(value, *, field: str) -> time:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    m = re.match(r"^([01]?\d|2[0-3]):([0-5]\d)$", str(value or "").strip())
    if not m:
        raise InvalidSetting(Message("时间格式应为 HH:MM", "Times look like HH:MM"), code="invalid_time", field=field)
    return time(int(m.group(1)), int(m.group(2)))


def _clean_weekdays(value) -> list[int]:
    if isinstance(value, str):
        value = [v for v in re.split(r"[,，\s]+", value) if v]
    try:
        days = sorted({int(v) for v in (value or [])})
    except (TypeError, ValueError):
        days = [-1]
    if not days or any(d < 0 or d > 6 for d in days):
        raise InvalidSetting(Message("请选择值班的星期（周一到周日）", "Choose the weekdays on duty (Monday to Sunday)"),
                             code="invalid_weekdays", field="weekdays")
    return days


def grid_duty_set(*, actor, grid, user, weekdays: list[int], start_time, end_time) -> GridDuty:
    """Put ``user`` (a grid worker of ``grid``) on duty on ``weekdays`` (0 = Monday)
    from ``start_time`` to ``end_time`` (Asia/Shanghai; end before start runs past
    midnight). One row per grid and person: setting again replaces it."""
    _require_scope(actor, grid)
    if grid.level != Level.GRID:
        raise NotAGrid(field="grid")
    if user is None or not getattr(user, "pk", None) or not permissions.has_role(user, "grid_worker") \
            or not permissions.can(user, "reports.handle", grid):
        raise NotAGridWorker(field="user")
    days = _clean_weekdays(weekdays)
    start = _clean_time(start_time, field="start_time")
    end = _clean_time(end_time, field="end_time")
    if start == end:
        raise InvalidSetting(Message("开始和结束时间不能相同", "Start and end must differ"), code="invalid_time",
                             field="end_time")
    with transaction.atomic():
        duty = GridDuty.objects.select_for_update().filter(grid=grid, user=user).order_by("pk").first()
        created = duty is None
        if created:
            duty = GridDuty(grid=grid, user=user)
        old = {} if created else {"weekdays": duty.weekdays, "start_time": duty.start_time.strftime("%H:%M"),
                                  "end_time": duty.end_time.strftime("%H:%M")}
        duty.weekdays, duty.start_time, duty.end_time = days, start, end
        duty.save()
        GridDuty.objects.filter(grid=grid, user=user).exclude(pk=duty.pk).delete()
        audit_record(actor=actor, action=AuditAction.CREATE if created else AuditAction.UPDATE, obj=duty,
                     summary=f"duty of {user.get_username()} on grid {grid.code}",
                     changes={"old": old, "new": {"weekdays": days, "start_time": start.strftime("%H:%M"),
                                                  "end_time": end.strftime("%H:%M")}},
                     jurisdiction_path=grid.path)
    return duty


def grid_duty_remove(*, actor, duty: GridDuty) -> None:
    _require_scope(actor, duty.grid)
    with transaction.atomic():
        audit_record(actor=actor, action=AuditAction.DELETE, obj=duty,
                     summary=f"duty of {duty.user.get_username()} on grid {duty.grid.code} removed",
                     jurisdiction_path=duty.grid.path)
        duty.delete()


# ---- reply templates -------------------------------------------------------------------


def _require_template_scope(actor, jurisdiction) -> None:
    """A template of a jurisdiction: configure there. A template for everywhere
    (``jurisdiction`` None): configure on every root of the tree (city admins of
    the only city, superusers)."""
    if jurisdiction is not None:
        _require_scope(actor, jurisdiction)
        return
    from yizhan.jurisdictions.models import Jurisdiction

    permissions.require(actor, CONFIGURE)
    roots = Jurisdiction.objects.filter(parent__isnull=True).values_list("path", flat=True)
    if not all(permissions.can(actor, CONFIGURE, p) for p in roots):
        raise OutOfJurisdiction()


def reply_template_save(*, actor, template: ReplyTemplate | None = None, jurisdiction=None, action, title, text,
                        text_en="") -> ReplyTemplate:
    """Create (``template`` None) or edit a canned reply for ``action``."""
    if template is not None:
        _require_template_scope(actor, template.jurisdiction)
    _require_template_scope(actor, jurisdiction)
    fields = {
        "jurisdiction": jurisdiction,
        "action": _choice(action, CaseAction, field="action", what=Message("操作", "action")),
        "title": _text(title, field="title", limit=60, required=True, label=Message("标题", "title")),
        "text": _text(text, field="text", limit=2000, required=True, label=Message("回复内容", "text")),
        "text_en": _text(text_en, field="text_en", limit=2000),
    }
    with transaction.atomic():
        created = template is None
        tpl = ReplyTemplate() if created else ReplyTemplate.objects.select_for_update().get(pk=template.pk)
        changes = _apply(tpl, fields)
        if changes:
            tpl.save()
            changes.pop("jurisdiction", None)
            audit_record(actor=actor, action=AuditAction.CREATE if created else AuditAction.UPDATE, obj=tpl,
                         summary=f"reply template {tpl.title}",
                         changes={k: v for k, v in changes.items() if k != "text_en"},
                         jurisdiction_path=jurisdiction.path if jurisdiction else "")
    return tpl


def reply_template_delete(*, actor, template: ReplyTemplate) -> None:
    _require_template_scope(actor, template.jurisdiction)
    with transaction.atomic():
        audit_record(actor=actor, action=AuditAction.DELETE, obj=template, summary=f"reply template {template.title}",
                     jurisdiction_path=template.jurisdiction.path if template.jurisdiction else "")
        template.delete()
