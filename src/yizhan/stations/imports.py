"""Bulk import of stations and keepers from Excel (.xlsx) or CSV.

* Headers in Chinese or English (``编号``/``code``, ``名称``/``name``, ...; see COLUMNS).
* CSV in UTF-8 (with or without BOM), falling back to GBK (what Excel on a Chinese
  Windows saves).
* Every row is checked first and reported (Chinese and English); nothing is written
  when any row is bad, or on ``dry_run``. Then all rows are written in one
  transaction through the station services (so permissions and audit rows are the
  same as on the page).
* A row whose ``code`` exists updates that station instead of duplicating it.
* ``站长手机``/``站长姓名`` create the keeper's account (phone login) when new and
  make them the station's keeper (which grants the keeper role on the community).
* The actor may import only into communities where they hold ``stations.manage``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass, field
from typing import Literal

from django.db import transaction

from yizhan.core import permissions
from yizhan.core.audit import audit_record
from yizhan.core.errors import AppError, Message, OutOfJurisdiction, Required
from yizhan.core.models import AuditAction
from yizhan.core.pii import normalize_phone
from yizhan.core.text import clean_text
from yizhan.stations import errors as E
from yizhan.stations.choices import HostType, StationType
from yizhan.stations.models import Station
from yizhan.stations.services import (
    keeper_user_for_phone,
    station_clean,
    station_create,
    station_keeper_assign,
    station_update,
)

MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024

# canonical key -> accepted header spellings (compared without spaces, case-insensitive)
COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("编号", "站点编号", "驿站编号", "code", "id", "station_code"),
    "name": ("名称", "驿站名称", "站点名称", "name"),
    "name_en": ("英文名称", "name_en", "english_name"),
    "type": ("类型", "驿站类型", "type"),
    "host_type": ("主办方类型", "承办方类型", "host_type"),
    "host_name": ("主办方", "主办方名称", "承办单位", "host_name", "host"),
    "address": ("地址", "详细地址", "address"),
    "lat": ("纬度", "lat", "latitude"),
    "lng": ("经度", "lng", "lon", "longitude"),
    "community": ("社区编码", "社区", "所属社区", "辖区编码", "community", "jurisdiction"),
    "amenities": ("设施", "服务设施", "amenities"),
    "hours": ("开放时间", "营业时间", "hours", "opening_hours"),
    "keeper_name": ("站长姓名", "站长", "keeper_name"),
    "keeper_phone": ("站长手机", "站长手机号", "站长电话", "keeper_phone"),
    "hub": ("主站", "所属总站", "服务总站", "hub"),
    "description": ("简介", "描述", "description"),
    "opened_on": ("开放日期", "opened_on"),
}
REQUIRED = ("code", "name", "address", "lat", "lng", "community")

# The template (also used by the import page's CSV template).
TEMPLATE_COLUMNS = [
    "编号", "名称", "类型", "主办方类型", "主办方", "地址", "纬度", "经度", "社区编码",
    "设施", "开放时间", "站长姓名", "站长手机", "主站",
]
TEMPLATE_EXAMPLE = [
    "KX-001", "科学城东渚驿站", "驿站", "社区", "东渚社区居委会", "苏州高新区东渚街道石阳路 18 号",
    "31.3391", "120.3712", "SZ-GX-KX-A", "手机充电、饮用水、卫生间、无线网络", "周一至周五 08:00-20:00; 周六 09:00-17:00",
    "王站长", "13912345678", "",
]

_CN_DAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_EN_DAY = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
           "mo": 0, "tu": 1, "we": 2, "th": 3, "fr": 4, "sa": 5, "su": 6}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_AMENITY_ALIASES = {
    "充电": "phone_charging", "手机充电": "phone_charging", "电动车充电": "ebike_charging", "电瓶车充电": "ebike_charging",
    "饮水": "drinking_water", "饮用水": "drinking_water", "热水": "hot_water", "厕所": "toilet", "卫生间": "toilet",
    "热饭": "hot_meal", "热餐": "hot_meal", "微波炉": "microwave", "冰箱": "fridge", "wifi": "wifi", "wi-fi": "wifi",
    "无线网络": "wifi", "图书": "books", "图书角": "books", "书籍": "books", "急救包": "first_aid", "医药箱": "first_aid",
    "雨伞": "umbrella", "爱心雨伞": "umbrella", "空调": "heating_cooling", "冷暖空调": "heating_cooling",
}
_TYPE_ALIASES = {'暖"新"驿站': "warm", "暖新驿站": "warm", "暖‘新’驿站": "warm", "总站": "hub", "巴士": "bus"}


@dataclass
class RowResult:
    row: int
    code: str
    action: Literal["create", "update", "error"]
    errors: list[dict] = field(default_factory=list)


@dataclass
class ImportReport:
    ok: bool
    created: int
    updated: int
    rows: list[RowResult]
    dry_run: bool = False

    def as_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        """The report as text lines, each message in Chinese then English."""
        out = []
        for r in self.rows:
            if r.action == "error":
                for e in r.errors:
                    where = f"[{e['field']}] " if e.get("field") else ""
                    out.append(f"第 {r.row} 行 {r.code or ''}: {where}{e['zh']} / row {r.row}: {e['en']}")
            else:
                verb = ("新建", "create") if r.action == "create" else ("更新", "update")
                out.append(f"第 {r.row} 行 {r.code}: {verb[0]} / row {r.row}: {verb[1]}")
        mode = "（试运行，未写入）/ (dry run, nothing written)" if self.dry_run else ""
        if self.ok:
            out.append(f"成功：新建 {self.created}，更新 {self.updated} / OK: {self.created} created, "
                       f"{self.updated} updated {mode}".rstrip())
        else:
            bad = sum(1 for r in self.rows if r.action == "error")
            out.append(f"失败：{bad} 行有错误，未写入任何数据 / FAILED: {bad} rows have errors, nothing was written")
        return out


def _err(field_name: str | None, err: AppError) -> dict:
    return {"field": field_name or err.field, "zh": err.message.zh, "en": err.message.en}


# ---- reading files ----------------------------------------------------------------


def _norm_header(text) -> str:
    text = re.sub(r"[\s*＊]", "", str(text or "")).lower()
    return re.sub(r"[（(].*?[)）]", "", text)  # "纬度(WGS-84)" -> "纬度"


def _read_rows(file_name: str, content: bytes) -> list[list]:
    if len(content) > MAX_BYTES:
        raise E.ImportTooLarge(limit=MAX_ROWS)
    name = (file_name or "").lower()
    if name.endswith(".xlsx"):
        import openpyxl

        try:
            wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds on a corrupt file
            raise E.ImportBadFile() from None
        ws = wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        wb.close()
        return rows
    if name.endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes nearly anything
            raise E.ImportBadFile()
        return [row for row in csv.reader(io.StringIO(text))]
    raise E.ImportBadFile()


def _blank(value) -> bool:
    return value is None or str(value).strip() == ""


def _cell(value, *, multiline: bool = False) -> str:
    """A cell as text, cleaned like any input at the edge (``core.text.clean_text``:
    no bidi, zero-width or control characters)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_text(str(value), multiline=multiline)


# ---- parsing values ---------------------------------------------------------------


def _day_index(token: str) -> int | None:
    token = token.strip().lower()
    m = re.fullmatch(r"(?:周|星期|礼拜)([一二三四五六日天七])", token)
    if m:
        return _CN_DAY[m.group(1)]
    return _EN_DAY.get(token[:3] if len(token) > 2 else token)


def _parse_days(spec: str) -> list[int] | None:
    spec = spec.strip()
    if spec in ("", "每天", "每日", "全周", "周一至周日", "daily", "everyday"):
        return list(range(7))
    if spec in ("工作日", "weekdays"):
        return list(range(5))
    if spec in ("周末", "双休日", "weekends"):
        return [5, 6]
    days: list[int] = []
    for part in re.split(r"[、,，/]", spec):
        part = part.strip()
        if not part:
            continue
        rng = re.split(r"\s*(?:至|到|-|~|—|–)\s*", part)
        if len(rng) == 2:
            a, b = rng
            if b and not re.match(r"(周|星期|礼拜)", b) and re.match(r"(周|星期|礼拜)", a):
                b = a[:-1] + b  # 周一至五
            ia, ib = _day_index(a), _day_index(b)
            if ia is None or ib is None:
                return None
            days.extend(range(ia, ib + 1) if ia <= ib else [*range(ia, 7), *range(0, ib + 1)])
        elif len(rng) == 1:
            i = _day_index(part)
            if i is None:
                return None
            days.append(i)
        else:
            return None
    return sorted(set(days))


_TIME = r"\d{1,2}[:：]\d{2}"
_INTERVAL = re.compile(rf"({_TIME})\s*(?:-|~|—|–|至|到)\s*({_TIME})")


def _hhmm(text: str) -> str:
    h, m = text.replace("：", ":").split(":")
    return f"{int(h):02d}:{m}"


def parse_hours_text(text: str) -> dict:
    """"每天 08:00-20:00", "周一至周五 09:00-18:00; 周六 10:00-16:00", "24小时" → hours
    dict (days not mentioned are closed). Raises ValidationError invalid_hours."""
    bad = E.InvalidHours(Message(f"开放时间无法识别：{text}", f"Cannot read the opening hours: {text}"))
    raw = (text or "").strip()
    if not raw:
        return {}
    if re.fullmatch(r"(24\s*(小时|h|hours?)|全天|全天候|24/7|全天24小时)(营业|开放)?", raw, re.I):
        return {d: [["00:00", "24:00"]] for d in _DAYS}
    hours: dict[str, list] = {d: [] for d in _DAYS}
    for segment in re.split(r"[;；\n]+", raw):
        segment = segment.strip()
        if not segment:
            continue
        first = _INTERVAL.search(segment)
        if first is None:
            if re.search(r"(休息|关闭|闭馆|closed|off)$", segment, re.I):
                days = _parse_days(re.sub(r"(休息|关闭|闭馆|closed|off)$", "", segment, flags=re.I))
                if days is None:
                    raise bad
                for i in days:
                    hours[_DAYS[i]] = []
                continue
            raise bad
        days = _parse_days(segment[: first.start()].strip().rstrip(":："))
        intervals = [[_hhmm(a), _hhmm(b)] for a, b in _INTERVAL.findall(segment[first.start():])]
        rest = _INTERVAL.sub("", segment[first.start():])
        if days is None or re.sub(r"[\s,，、和及]", "", rest):
            raise bad
        for i in days:
            hours[_DAYS[i]] = intervals
    return hours


def _amenities_value(text: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"[、,，;；/]+", text or "") if p.strip()]
    return [_AMENITY_ALIASES.get(p.lower(), p) for p in parts]


def _type_value(text: str) -> str:
    t = (text or "").strip().replace("“", '"').replace("”", '"')
    return _TYPE_ALIASES.get(t, t)


def _float(value, field_name: str):
    if isinstance(value, (int, float)):
        return value
    text = _cell(value)
    try:
        return float(text)
    except ValueError:
        return text  # validate_lat_lng reports it


# ---- the import -------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    code: str
    data: dict
    keeper_phone: str = ""
    keeper_name: str = ""
    hub_code: str = ""
    existing: object = None
    result: RowResult | None = None


def _map_headers(header: list) -> dict[str, int]:
    lookup = {_norm_header(h): key for key, names in COLUMNS.items() for h in names}
    mapping: dict[str, int] = {}
    for idx, h in enumerate(header):
        key = lookup.get(_norm_header(h))
        if key and key not in mapping:
            mapping[key] = idx
    return mapping


def _check_row(actor, row: _Row, *, file_codes: dict[str, int], hub_types: dict[str, str]) -> list[dict]:
    errors: list[dict] = []
    existing = Station.objects.select_related("jurisdiction").filter(code=row.code).first() if row.code else None
    row.existing = existing
    data = dict(row.data)
    data.pop("hub", None)  # resolved after every row exists
    cleaned, errs = station_clean(data, instance=None)
    errors.extend(_err(None, e) for e in errs)
    if file_codes.get(row.code, row.number) != row.number:
        errors.append(_err("code", E.DuplicateImportCode(row=file_codes[row.code])))
    node = cleaned.get("jurisdiction")
    if node is not None and not permissions.can(actor, "stations.manage", node):
        errors.append(_err("community", OutOfJurisdiction(
            Message(f"无权导入到 {node.code}（不在您的管辖范围内）", f"You cannot import into {node.code} (outside your jurisdiction)"))))
    if existing is not None and not permissions.can(actor, "stations.manage", existing.jurisdiction):
        errors.append(_err("code", OutOfJurisdiction(
            Message("该编号的驿站不在您的管辖范围内", "The station with this code is outside your jurisdiction"))))
    if row.hub_code:
        kind = hub_types.get(row.hub_code)
        if kind is None:
            hub = Station.objects.filter(code=row.hub_code).exclude(status="removed").first()
            kind = hub.type if hub else None
        if kind != StationType.HUB or row.hub_code == row.code:
            errors.append(_err("hub", E.InvalidHub()))
    if row.keeper_phone:
        try:
            row.keeper_phone = normalize_phone(row.keeper_phone)
        except AppError as err:
            errors.append(_err("keeper_phone", err))
    elif row.keeper_name:
        errors.append(_err("keeper_phone", Required(
            Message("填写了站长姓名时请填写站长手机", "Give the keeper's phone with their name"),
            field="keeper_phone")))
    for e in errors:
        if e["field"] == "jurisdiction":
            e["field"] = "community"
    return errors


def stations_import(*, actor, file_name: str, content: bytes, dry_run: bool = False) -> ImportReport:
    """Check every row, then (unless ``dry_run`` or any row is bad) write them all."""
    permissions.require(actor, "stations.manage")
    rows = [r for r in _read_rows(file_name, content)]
    while rows and all(_blank(v) for v in rows[0]):
        rows.pop(0)
    if not rows:
        raise E.ImportEmpty()
    mapping = _map_headers(rows[0])
    missing = [COLUMNS[k][0] for k in REQUIRED if k not in mapping]
    if missing:
        raise E.ImportMissingColumns(columns="、".join(missing))
    body = [(i + 2, r) for i, r in enumerate(rows[1:]) if not all(_blank(v) for v in r)]
    if not body:
        raise E.ImportEmpty()
    if len(body) > MAX_ROWS:
        raise E.ImportTooLarge(limit=MAX_ROWS)

    parsed: list[_Row] = []
    for number, values in body:
        def get(key, values=values):
            idx = mapping.get(key)
            return values[idx] if idx is not None and idx < len(values) else None

        data = {
            "code": _cell(get("code")),
            "name": _cell(get("name")),
            "address": _cell(get("address")),
            "lat": _float(get("lat"), "lat"),
            "lng": _float(get("lng"), "lng"),
            "jurisdiction": _cell(get("community")),
        }
        pre_errors = []
        for key in ("name_en", "host_name", "description", "opened_on"):
            if key in mapping:
                data[key] = _cell(get(key), multiline=key == "description")
        if "type" in mapping and _cell(get("type")):
            data["type"] = _type_value(_cell(get("type")))
        if "host_type" in mapping and _cell(get("host_type")):
            data["host_type"] = _cell(get("host_type"))
        if "amenities" in mapping:
            data["amenities"] = _amenities_value(_cell(get("amenities")))
        if "hours" in mapping:
            try:
                data["hours"] = parse_hours_text(_cell(get("hours")))
            except AppError as err:
                pre_errors.append(_err("hours", err))
        row = _Row(
            number=number, code=data["code"], data=data,
            keeper_phone=_cell(get("keeper_phone")), keeper_name=_cell(get("keeper_name")),
            hub_code=_cell(get("hub")),
        )
        row.result = RowResult(row=number, code=row.code, action="create", errors=pre_errors)
        parsed.append(row)

    file_codes: dict[str, int] = {}
    hub_types: dict[str, str] = {}
    for row in parsed:
        file_codes.setdefault(row.code, row.number)
        if row.code:
            hub_types[row.code] = row.data.get("type") or StationType.STATION
    # a hub named in the file counts only if that row makes it a hub
    for code, kind in list(hub_types.items()):
        hub_types[code] = StationType.HUB if kind in (StationType.HUB, str(StationType.HUB.label)) else kind

    for row in parsed:
        errs = row.result.errors + _check_row(actor, row, file_codes=file_codes, hub_types=hub_types)
        # one message per field is enough
        seen, uniq = set(), []
        for e in errs:
            key = (e["field"], e["en"])
            if key not in seen:
                seen.add(key)
                uniq.append(e)
        row.result.errors = uniq
        row.result.action = "error" if uniq else ("update" if row.existing is not None else "create")

    report = ImportReport(
        ok=all(r.result.action != "error" for r in parsed),
        created=sum(1 for r in parsed if r.result.action == "create"),
        updated=sum(1 for r in parsed if r.result.action == "update"),
        rows=[r.result for r in parsed],
        dry_run=dry_run,
    )
    if not report.ok:
        report.created = report.updated = 0
    if not report.ok or dry_run:
        return report
    try:
        _write(actor, parsed, file_name=file_name, report=report)
    except _RowFailed as failed:
        failed.row.result.action = "error"
        failed.row.result.errors = [_err(None, failed.error)]
        report.ok = False
        report.created = report.updated = 0
    return report


class _RowFailed(Exception):
    def __init__(self, row: _Row, error: AppError):
        self.row, self.error = row, error


def _write(actor, parsed: list[_Row], *, file_name: str, report: ImportReport) -> None:
    with transaction.atomic():
        stations = {}
        for row in parsed:
            try:
                if row.existing is not None:
                    data = {k: v for k, v in row.data.items() if k != "code"}
                    stations[row.code] = station_update(actor=actor, station=row.existing, data=data)
                else:
                    stations[row.code] = station_create(actor=actor, data=row.data)
            except AppError as err:
                raise _RowFailed(row, err) from None
        for row in parsed:
            station = stations[row.code]
            try:
                if row.hub_code:
                    hub = Station.objects.get(code=row.hub_code) if row.hub_code else None
                    if station.hub_id != (hub.pk if hub else None):
                        station_update(actor=actor, station=station, data={"hub": hub})
                if row.keeper_phone:
                    user = keeper_user_for_phone(actor=actor, phone=row.keeper_phone, display_name=row.keeper_name)
                    station_keeper_assign(actor=actor, station=station, user=user, is_primary=True)
            except AppError as err:
                raise _RowFailed(row, err) from None
        audit_record(
            actor=actor, action=AuditAction.IMPORT, object_type="stations.station",
            summary=f"import {file_name[:80]}: {report.created} created, {report.updated} updated",
            changes={"codes": [r.code for r in parsed][:500]},
        )


def import_template_xlsx() -> bytes:
    """An example workbook with the headers, one example row and a notes sheet."""
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "驿站"
    ws.append(TEMPLATE_COLUMNS)
    ws.append(TEMPLATE_EXAMPLE)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for i, width in enumerate([10, 20, 10, 10, 16, 32, 10, 10, 14, 30, 36, 10, 14, 10], start=1):
        ws.column_dimensions[openpyxl.utils.get_column_letter(i)].width = width
    notes = wb.create_sheet("说明")
    notes.append(["列", "说明"])
    notes.append(["编号", "必填；驿站的固定编号，再次导入同一编号会更新该驿站"])
    notes.append(["类型", "、".join(str(lbl) for _v, lbl in StationType.choices)])
    notes.append(["主办方类型", "、".join(str(lbl) for _v, lbl in HostType.choices)])
    notes.append(["纬度/经度", "必填；WGS-84 坐标（GPS），不是高德/腾讯地图坐标"])
    notes.append(["社区编码", "必填；驿站所属社区或网格的编码"])
    notes.append(["设施", "用顿号或逗号分隔，如：手机充电、饮用水、卫生间"])
    notes.append(["开放时间", "如：每天 08:00-20:00；周一至周五 09:00-18:00; 周六 10:00-16:00；24小时"])
    notes.append(["站长手机", "可选；新手机号会创建站长账号（手机验证码登录）"])
    notes.append(["主站", "可选；所属服务总站的编号"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
