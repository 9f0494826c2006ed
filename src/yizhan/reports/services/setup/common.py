"""What the setup services share: constants, the setup error classes, field cleaners,
the shipped data files and the scope checks."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from yizhan.core import permissions
from yizhan.core.errors import (
    AppError,
    Message,
    OutOfJurisdiction,
)
from yizhan.reports.choices import Clock, Urgency
from yizhan.reports.errors import (  # noqa: F401  (re-exported to the setup modules)
    INVALID_CHOICE,
    CalendarDayNotFound,
    CalendarEmpty,
    CalendarInvalidDate,
    DepartmentCodeTaken,
    DepartmentMemberNotFound,
    DutyTimesEqual,
    InvalidCalendar,
    InvalidDepartmentCode,
    InvalidExtraFields,
    InvalidLimit,
    InvalidPerson,
    InvalidPhone,
    InvalidSetting,
    InvalidTime,
    InvalidWeekdays,
    NotAGrid,
    NotAGridWorker,
    NotOverridable,
    SettingRequired,
    SettingTooLong,
    UnknownDepartmentCode,
)
from yizhan.reports.models import Department

__all__ = ["LIMIT_FIELDS", "MAX_LIMIT_MINUTES", "clean_extra_fields", "category_clean", "require_platform_configure", "taxonomy_data", "default_departments_data"]


DATA_DIR = Path(__file__).resolve().parents[2] / "data"  # reports/data
CONFIGURE = "reports.configure"
LIMIT_FIELDS = ("accept_minutes", "dispatch_minutes", "handle_minutes", "verify_minutes", "close_minutes")
MAX_LIMIT_MINUTES = 366 * 24 * 60  # a year of minutes; longer is a typo
CODE_RE = re.compile(r"^[a-z0-9_]{1,40}$")
FIELD_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
EXTRA_FIELD_TYPES = ("text", "number", "select")
PHONE_RE = re.compile(r"^[0-9+\-() ]{3,20}$")



# ---- errors: reports/errors.py, setup section (names kept importable from here) --------

# ---- helpers ---------------------------------------------------------------------------


def _text(value, *, field: str, limit: int, required: bool = False, label: Message | None = None) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        what = label or Message(field, field)
        raise SettingRequired(field=field, what=what.zh, what_en=what.en)
    if len(text) > limit:
        raise SettingTooLong(field=field, limit=limit)
    return text


def _choice(value, choices, *, field: str, what: Message) -> str:
    text = "" if value is None else str(value).strip()
    for v, label in choices.choices:
        if text == v or text == str(label):
            return v
    raise INVALID_CHOICE[field](field=field, what=what.zh, what_en=what.en, text=text or "（空）",
                                text_en=text or "(empty)")


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
        raise InvalidDepartmentCode(field=field)
    if must_exist and code not in _default_department_codes() and not Department.objects.filter(code=code).exists():
        raise UnknownDepartmentCode(field=field, dept=code)
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


# ---- scope ---------------------------------------------------------------------------


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



def require_platform_configure(actor) -> None:
    """Platform-wide settings (the taxonomy itself, Open311 client keys): configure on
    every root of the tree (city admins of the only city, superusers)."""
    _require_template_scope(actor, None)
