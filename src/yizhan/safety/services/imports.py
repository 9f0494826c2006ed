"""Bulk import of places and devices from one Excel workbook (.xlsx), like
``stations.imports``:

* sheet ``场所`` (or ``places``) and sheet ``设备`` (or ``devices``); either may be
  missing. A workbook with one unnamed sheet is read as places, or as devices when its
  headers name a place code column (``场所编号``). Headers in Chinese or English
  (``PLACE_COLUMNS`` / ``DEVICE_COLUMNS``), compared without spaces, case or a
  parenthesised unit ("心跳间隔(秒)").
* Every row is checked first and reported in Chinese and English (sheet, row, code,
  field); **nothing is written when any row is bad**, or on ``dry_run``. Then everything
  is written in one transaction with a few bulk statements and one audit row (11,810
  devices in seconds, not minutes).
* Idempotent by code: a row whose code exists updates that place/device; a row that
  changes nothing is "unchanged" and writes nothing (importing the same file twice writes
  nothing the second time). A device's ``code`` and ``kind`` never change.
* Devices may name a place or a transmitter registered earlier or in the same file.
* The actor needs ``safety.manage`` on every jurisdiction the file touches (a row's new
  one and, for an update, its current one).
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import re
from dataclasses import asdict, dataclass, field
from typing import Literal

import openpyxl
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from yizhan.core import permissions
from yizhan.core.audit import audit_record
from yizhan.core.errors import AppError, Message, OutOfJurisdiction
from yizhan.core.models import AuditAction
from yizhan.core.text import clean_text
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.safety import errors as E
from yizhan.safety.choices import DeviceKind, PlaceKind
from yizhan.safety.models import Device, Place
from yizhan.safety.services.devices import device_clean
from yizhan.safety.services.places import MANAGE, _devices_changed, place_clean

MAX_ROWS = 20000
MAX_BYTES = 5 * 1024 * 1024

PLACE_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("场所编号", "编号", "code", "place_code"),
    "kind": ("场所类型", "类型", "kind", "type"),
    "name": ("名称", "场所名称", "name"),
    "address": ("地址", "详细地址", "address"),
    "lat": ("纬度", "lat", "latitude"),
    "lng": ("经度", "lng", "lon", "longitude"),
    "jurisdiction": ("社区编码", "社区", "辖区编码", "jurisdiction", "community"),
    "parent": ("所属楼栋", "上级场所", "所属场所", "parent"),
    "floors": ("层数", "楼层数", "floors"),
    "rooms": ("房间数", "rooms"),
    "tenant_count": ("租住人数", "租户人数", "tenant_count", "tenants"),
    "landlord_name": ("房东姓名", "房东", "landlord_name", "landlord"),
    "landlord_phone": ("房东电话", "房东手机", "landlord_phone"),
    "charging_points": ("充电车位", "充电口数", "charging_points"),
    "equipment": ("器材", "装备", "器材装备", "equipment"),
    "phone": ("值班电话", "电话", "phone"),
    "notes": ("备注", "notes"),
}
PLACE_REQUIRED = ("code", "kind", "name", "address", "lat", "lng")

DEVICE_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("设备编号", "编号", "code", "device_code"),
    "kind": ("设备类型", "类型", "kind", "type"),
    "place": ("场所编号", "所属场所", "place", "place_code"),
    "floor": ("楼层", "floor"),
    "room": ("房间", "房号", "room"),
    "location_text": ("安装位置", "位置", "location", "location_text"),
    "model_name": ("型号", "设备型号", "model", "model_name"),
    "firmware": ("固件版本", "固件", "firmware"),
    "heartbeat_interval": ("心跳间隔", "heartbeat_interval", "heartbeat"),
    "battery": ("电量", "battery"),
    "gb_address": ("传输装置地址", "gb地址", "gb_address"),
    "transmitter": ("所属传输装置", "传输装置编号", "transmitter"),
    "gb_sys_type": ("系统类型", "gb_sys_type"),
    "gb_sys_addr": ("系统地址", "gb_sys_addr"),
    "gb_comp_type": ("部件类型", "gb_comp_type"),
    "gb_comp_addr": ("部件地址", "gb_comp_addr"),
    "installed_on": ("安装日期", "installed_on"),
}
DEVICE_REQUIRED = ("code", "kind", "place")
TEXT_CELLS = {"code", "kind", "name", "address", "jurisdiction", "parent", "landlord_name", "landlord_phone",
              "equipment", "phone", "notes", "place", "floor", "room", "location_text", "model_name", "firmware",
              "gb_address", "transmitter"}
SHEET_NAMES = {"places": ("场所", "places", "place"), "devices": ("设备", "devices", "device")}


@dataclass
class RowResult:
    sheet: Literal["places", "devices"]
    row: int
    code: str
    action: Literal["create", "update", "unchanged", "error"]
    errors: list[dict] = field(default_factory=list)


@dataclass
class ImportReport:
    ok: bool
    places_created: int = 0
    places_updated: int = 0
    devices_created: int = 0
    devices_updated: int = 0
    rows: list[RowResult] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def error_rows(self) -> list[RowResult]:
        return [r for r in self.rows if r.action == "error"]

    def lines(self) -> list[str]:
        """Each problem as one line, Chinese then English, then the verdict."""
        out = []
        sheet_zh = {"places": "场所表", "devices": "设备表"}
        for r in self.error_rows:
            for e in r.errors:
                where = f"[{e['field']}] " if e.get("field") else ""
                out.append(f"{sheet_zh[r.sheet]}第 {r.row} 行 {r.code}: {where}{e['zh']} / "
                           f"{r.sheet} row {r.row}: {where}{e['en']}")
        if self.ok:
            mode = "（试运行，未写入）/ (dry run, nothing written)" if self.dry_run else ""
            out.append(f"成功：场所新建 {self.places_created}、更新 {self.places_updated}，设备新建 "
                       f"{self.devices_created}、更新 {self.devices_updated} / OK: places {self.places_created} "
                       f"created, {self.places_updated} updated; devices {self.devices_created} created, "
                       f"{self.devices_updated} updated {mode}".rstrip())
        else:
            out.append(f"失败：{len(self.error_rows)} 行有错误，未写入任何数据 / FAILED: {len(self.error_rows)} "
                       "rows have errors, nothing was written")
        return out


def _err(err: AppError, field_name: str | None = None) -> dict:
    return {"field": field_name or err.field, "zh": err.message.zh, "en": err.message.en}


# ---- reading the workbook -------------------------------------------------------------


def _norm(text) -> str:
    text = re.sub(r"[\s*＊]", "", str(text or "")).lower()
    return re.sub(r"[（(].*?[)）]", "", text)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _cell(value) -> str:
    """A text cell: an integral number without ".0", a date as ISO, text cleaned."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return clean_text(str(value))


def _sheet_rows(ws) -> list[tuple[int, list]]:
    rows = []
    for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
        rows.append((number, list(values)))
        if len(rows) > MAX_ROWS + 50:
            raise E.ImportTooLarge(limit=MAX_ROWS)
    return rows


def _read(content: bytes) -> dict[str, list[tuple[int, list]]]:
    if len(content) > MAX_BYTES:
        raise E.ImportTooLarge(limit=MAX_ROWS)
    try:
        wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a corrupt or non-xlsx file
        raise E.ImportBadFile() from None
    try:
        sheets: dict[str, list] = {}
        for ws in wb.worksheets:
            name = _norm(ws.title)
            for key, names in SHEET_NAMES.items():
                if name in names and key not in sheets:
                    sheets[key] = _sheet_rows(ws)
        if not sheets and wb.worksheets:
            rows = _sheet_rows(wb.worksheets[0])
            header = next((r for _n, r in rows if not all(_blank(v) for v in r)), [])
            normed = {_norm(h) for h in header}
            kind = "devices" if normed & {_norm(h) for h in DEVICE_COLUMNS["place"]} else "places"
            sheets[kind] = rows
    except AppError:
        raise
    except Exception:
        raise E.ImportBadFile() from None
    finally:
        wb.close()
    return sheets


def _table(rows, columns: dict, required: tuple, sheet_zh: str) -> tuple[dict[str, int], list[tuple[int, list]]]:
    body = [(n, r) for n, r in rows if not all(_blank(v) for v in r)]
    if not body:
        return {}, []
    header = body[0][1]
    lookup = {_norm(h): key for key, names in columns.items() for h in names}
    mapping: dict[str, int] = {}
    for idx, h in enumerate(header):
        key = lookup.get(_norm(h))
        if key and key not in mapping:
            mapping[key] = idx
    missing = [columns[k][0] for k in required if k not in mapping]
    if missing:
        raise E.ImportMissingColumns(sheet=sheet_zh, columns="、".join(missing))
    return mapping, body[1:]


def _values(mapping: dict[str, int], values: list) -> dict:
    data = {}
    for key, idx in mapping.items():
        raw = values[idx] if idx < len(values) else None
        data[key] = _cell(raw) if key in TEXT_CELLS else raw
        if key not in TEXT_CELLS and isinstance(raw, str):
            data[key] = clean_text(raw)
    return data


# ---- checking -------------------------------------------------------------------------


@dataclass
class _Row:
    sheet: str
    number: int
    code: str
    data: dict
    existing: object = None
    cleaned: dict = field(default_factory=dict)
    parent_code: str = ""
    result: RowResult | None = None


def _changed(instance, cleaned: dict) -> dict:
    out = {}
    for key, value in cleaned.items():
        if key == "code":
            continue
        if isinstance(value, models.Model):  # a foreign key: compare ids, never load the row
            if getattr(instance, f"{key}_id") != value.pk or value.pk is None:
                out[key] = value
        elif getattr(instance, key) != value:
            out[key] = value
    return out


def _check_places(actor, rows: list[_Row], errors_of) -> None:
    codes = [r.code for r in rows if r.code]
    existing = {p.code: p for p in Place.objects.select_related("jurisdiction").defer("jurisdiction__boundary")
                .filter(code__in=codes)}
    first: dict[str, int] = {}
    for row in rows:
        errs = errors_of(row)
        row.existing = existing.get(row.code)
        data = dict(row.data)
        row.parent_code = _cell(data.pop("parent", "")) if "parent" in data else ""
        if row.existing is not None:
            data.pop("code", None)
        cleaned, problems = place_clean(data, instance=row.existing)
        errs.extend(_err(p) for p in problems)
        if row.code in first:
            errs.append(_err(E.ImportDuplicateCode(row=first[row.code])))
        elif row.code:
            first[row.code] = row.number
        node = cleaned.get("jurisdiction")
        if node is not None and not permissions.can(actor, MANAGE, node):
            errs.append(_err(OutOfJurisdiction(Message(
                f"无权导入到 {node.code}（不在您的管辖范围内）",
                f"You cannot import into {node.code} (outside your jurisdiction)")), "jurisdiction"))
        if row.existing is not None and not permissions.can(actor, MANAGE, row.existing.jurisdiction):
            errs.append(_err(OutOfJurisdiction(Message(
                "该编号的场所不在您的管辖范围内", "The place with this code is outside your jurisdiction")), "code"))
        row.cleaned = cleaned
    file_codes = set(first)
    known_parents = set(Place.objects.filter(code__in=[r.parent_code for r in rows if r.parent_code])
                        .values_list("code", flat=True))
    for row in rows:
        if row.parent_code and (row.parent_code == row.code
                                or (row.parent_code not in file_codes and row.parent_code not in known_parents)):
            errors_of(row).append(_err(E.InvalidParentPlace()))


def _placeholder_place(row: _Row) -> Place | None:
    """The place a device row names, as it will be after the import (unsaved when new)."""
    if row.existing is not None:
        place = copy.copy(row.existing)
        for key, value in row.cleaned.items():
            setattr(place, key, value)
        return place
    try:
        return Place(**{k: v for k, v in row.cleaned.items()})
    except (TypeError, ValueError):
        return None


def _check_devices(actor, rows: list[_Row], place_rows: list[_Row], errors_of) -> None:
    file_places = {r.code: r for r in place_rows if r.code}
    place_codes = {_cell(r.data.get("place")) for r in rows} - set(file_places)
    db_places = {p.code: p for p in Place.objects.select_related("jurisdiction").defer("jurisdiction__boundary")
                 .filter(code__in=place_codes)}
    codes = [r.code for r in rows if r.code]
    # the rows only (no boundary GeoJSON per row: 11,810 copies of it cost seconds), their
    # jurisdictions once each
    existing = {d.code: d for d in Device.objects.defer("last_values").filter(code__in=codes)}
    nodes = {j.pk: j for j in Jurisdiction.objects.defer("boundary")
             .filter(pk__in={d.jurisdiction_id for d in existing.values()})}
    for d in existing.values():
        d.jurisdiction = nodes[d.jurisdiction_id]
    tx_codes = {_cell(r.data.get("transmitter")) for r in rows if r.data.get("transmitter")}
    transmitters = {d.code: d for d in Device.objects.filter(code__in=tx_codes, kind=DeviceKind.TRANSMITTER)}
    for row in rows:  # transmitters of this file, for the component rows
        if _cell(row.data.get("kind")) in (DeviceKind.TRANSMITTER, str(DeviceKind.TRANSMITTER.label)) \
                and row.code and row.code not in transmitters:
            transmitters[row.code] = Device(code=row.code, kind=DeviceKind.TRANSMITTER)
    placeholders: dict[str, Place | None] = {}  # one per place of the file, not one per device
    first: dict[str, int] = {}
    addresses: dict[int, int] = {}
    points: dict[tuple, int] = {}
    for row in rows:
        errs = errors_of(row)
        row.existing = existing.get(row.code)
        data = dict(row.data)
        place_code = _cell(data.get("place"))
        place = None
        if place_code in file_places:
            if place_code not in placeholders:
                placeholders[place_code] = _placeholder_place(file_places[place_code])
            place = placeholders[place_code]
        elif place_code in db_places:
            place = db_places[place_code]
        unknown = place is None and bool(place_code)
        if unknown:
            errs.append(_err(E.ImportUnknownPlace()))
        if row.existing is not None:
            data.pop("code", None)
            data.pop("kind", None)
            data.pop("place", None)
            if place is not None:
                data["place"] = place
        else:
            data["place"] = place
        cleaned, problems = device_clean(data, instance=row.existing, transmitters=transmitters)
        errs.extend(_err(p) for p in problems if not (unknown and p.field == "place"))
        if row.code in first:
            errs.append(_err(E.ImportDuplicateCode(row=first[row.code])))
        elif row.code:
            first[row.code] = row.number
        target = cleaned.get("place")
        if target is not None:
            node = target.jurisdiction if target.jurisdiction_id else None
            if node is not None and not permissions.can(actor, MANAGE, node):
                errs.append(_err(OutOfJurisdiction(Message(
                    "设备所在场所不在您的管辖范围内", "The device's place is outside your jurisdiction")), "place"))
            if target.pk is not None and not target.active:
                errs.append(_err(E.PlaceInactive()))
        if row.existing is not None and not permissions.can(actor, MANAGE, row.existing.jurisdiction):
            errs.append(_err(OutOfJurisdiction(Message(
                "该编号的设备不在您的管辖范围内", "The device with this code is outside your jurisdiction")), "code"))
        address = cleaned.get("gb_address")
        if address is not None:
            if address in addresses:
                errs.append(_err(E.GbAddressTaken()))
            addresses[address] = row.number
        if cleaned.get("transmitter") is not None:
            tx = cleaned["transmitter"]
            point = (tx.code, cleaned.get("gb_sys_type"), cleaned.get("gb_sys_addr"), cleaned.get("gb_comp_addr"))
            if point in points:
                errs.append(_err(E.ComponentPointTaken()))
            points[point] = row.number
        row.cleaned = cleaned
    # against the database: an address or a point held by another device
    if addresses:
        held = dict(Device.objects.filter(gb_address__in=list(addresses)).values_list("gb_address", "code"))
        for row in rows:
            address = row.cleaned.get("gb_address")
            if address is not None and held.get(address, row.code) != row.code:
                errors_of(row).append(_err(E.GbAddressTaken()))
    saved_tx = [tx for tx in {r.cleaned["transmitter"].pk for r in rows if r.cleaned.get("transmitter") is not None}
                if tx is not None]
    if saved_tx:
        taken = {(d.transmitter.code, d.gb_sys_type, d.gb_sys_addr, d.gb_comp_addr): d.code
                 for d in Device.objects.select_related("transmitter").filter(transmitter_id__in=saved_tx)}
        for row in rows:
            tx = row.cleaned.get("transmitter")
            if tx is None:
                continue
            point = (tx.code, row.cleaned.get("gb_sys_type", getattr(row.existing, "gb_sys_type", None)),
                     row.cleaned.get("gb_sys_addr", getattr(row.existing, "gb_sys_addr", None)),
                     row.cleaned.get("gb_comp_addr", getattr(row.existing, "gb_comp_addr", None)))
            if taken.get(point, row.code) != row.code:
                errors_of(row).append(_err(E.ComponentPointTaken()))


# ---- the import -------------------------------------------------------------------------


def safety_import(*, actor, file_name: str, content: bytes, dry_run: bool = False) -> ImportReport:
    """Check every row of both sheets, then (unless ``dry_run`` or any row is bad) write
    them all in one transaction."""
    permissions.require(actor, MANAGE)
    if not (file_name or "").lower().endswith(".xlsx"):
        raise E.ImportBadFile()
    sheets = _read(content)
    place_map, place_body = _table(sheets.get("places", []), PLACE_COLUMNS, PLACE_REQUIRED, "场所")
    device_map, device_body = _table(sheets.get("devices", []), DEVICE_COLUMNS, DEVICE_REQUIRED, "设备")
    if not place_body and not device_body:
        raise E.ImportEmpty()
    if len(place_body) + len(device_body) > MAX_ROWS:
        raise E.ImportTooLarge(limit=MAX_ROWS)

    place_rows = [_Row("places", n, _cell(v[place_map["code"]]) if place_map["code"] < len(v) else "",
                       _values(place_map, v)) for n, v in place_body]
    device_rows = [_Row("devices", n, _cell(v[device_map["code"]]) if device_map["code"] < len(v) else "",
                        _values(device_map, v)) for n, v in device_body]
    errors: dict[int, list[dict]] = {}

    def errors_of(row: _Row) -> list[dict]:
        return errors.setdefault(id(row), [])

    _check_places(actor, place_rows, errors_of)
    _check_devices(actor, device_rows, place_rows, errors_of)

    report = ImportReport(ok=True, dry_run=dry_run)
    for row in place_rows + device_rows:
        errs = _unique(errors_of(row))
        if errs:
            action = "error"
        elif row.existing is None:
            action = "create"
        else:
            action = "update" if _changed(row.existing, row.cleaned) else "unchanged"
        row.result = RowResult(sheet=row.sheet, row=row.number, code=row.code, action=action, errors=errs)
        report.rows.append(row.result)
    report.ok = not report.error_rows
    if report.ok:
        for row in place_rows + device_rows:
            attr = f"{row.sheet}_{'created' if row.result.action == 'create' else 'updated'}"
            if row.result.action in ("create", "update"):
                setattr(report, attr, getattr(report, attr) + 1)
    if not report.ok or dry_run:
        return report
    try:
        _write(actor, place_rows, device_rows, file_name=file_name, report=report)
    except IntegrityError:  # someone registered the same code meanwhile: nothing written
        report.ok = False
        report.places_created = report.places_updated = report.devices_created = report.devices_updated = 0
        report.rows.append(RowResult(sheet="devices", row=0, code="", action="error", errors=[_err(E.DeviceCodeTaken())]))
    return report


def _unique(errs: list[dict]) -> list[dict]:
    seen, out = set(), []
    for e in errs:
        key = (e["field"], e["en"])
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def _write(actor, place_rows: list[_Row], device_rows: list[_Row], *, file_name: str, report: ImportReport) -> None:
    now = timezone.now()
    with transaction.atomic():
        new_places = [Place(**r.cleaned, created_at=now, updated_at=now) for r in place_rows
                      if r.result.action == "create"]
        Place.objects.bulk_create(new_places, batch_size=1000)
        updated, fields, moved = [], set(), []
        for row in place_rows:
            if row.result.action != "update":
                continue
            changes = _changed(row.existing, row.cleaned)
            for key, value in changes.items():
                setattr(row.existing, key, value)
            fields.update(changes)
            row.existing.updated_at = now
            updated.append(row.existing)
            if "jurisdiction" in changes:
                moved.append(row.existing)
        if updated:
            Place.objects.bulk_update(updated, sorted(fields | {"updated_at"}), batch_size=1000)
        for place in moved:
            Device.objects.filter(place=place).update(jurisdiction=place.jurisdiction)
        places = {p.code: p for p in Place.objects.select_related("jurisdiction").defer("jurisdiction__boundary")
                  .filter(code__in=[r.code for r in place_rows] + [r.parent_code for r in place_rows if r.parent_code])}
        with_parent = []
        for row in place_rows:
            place = places[row.code]
            parent = places.get(row.parent_code) if row.parent_code else None
            if row.parent_code and place.parent_id != parent.pk:
                place.parent = parent
                with_parent.append(place)
        if with_parent:
            Place.objects.bulk_update(with_parent, ["parent"], batch_size=1000)

        # devices: transmitters and sensors first, then the component points behind them
        saved: dict[str, Device] = {}
        for components in (False, True):
            batch = [r for r in device_rows
                     if ((r.existing.kind if r.existing else r.cleaned["kind"]) == DeviceKind.COMPONENT) == components]
            new, upd, dfields = [], [], set()
            for row in batch:
                cleaned = dict(row.cleaned)
                place = cleaned.get("place")
                if place is not None and place.code in places:  # a place of this file, as saved
                    cleaned["place"] = places[place.code]
                    cleaned["jurisdiction"] = cleaned["place"].jurisdiction
                tx = cleaned.get("transmitter")
                if tx is not None and tx.pk is None:  # registered by this file's first pass
                    cleaned["transmitter"] = saved[tx.code]
                if row.result.action == "create":
                    device = Device(**cleaned, created_at=now, updated_at=now)
                    new.append(device)
                    saved[row.code] = device
                elif row.result.action == "update":
                    changes = _changed(row.existing, cleaned)
                    for key, value in changes.items():
                        setattr(row.existing, key, value)
                    dfields.update(changes)
                    row.existing.updated_at = now
                    upd.append(row.existing)
                    saved[row.code] = row.existing
                else:
                    saved[row.code] = row.existing
            Device.objects.bulk_create(new, batch_size=1000)
            if upd:
                Device.objects.bulk_update(upd, sorted(dfields | {"updated_at"}), batch_size=1000)
            if new and not components:  # bulk_create sets pks on PostgreSQL only: read them back
                ids = dict(Device.objects.filter(code__in=[d.code for d in new]).values_list("code", "pk"))
                for device in new:
                    device.pk = device.id = ids[device.code]
        if any(r.result.action != "unchanged" for r in place_rows + device_rows):
            audit_record(
                actor=actor, action=AuditAction.IMPORT, object_type="safety.place",
                summary=(f"import {file_name[:80]}: places {report.places_created}+{report.places_updated}, "
                         f"devices {report.devices_created}+{report.devices_updated}"),
                changes={"places": [r.code for r in place_rows if r.result.action != "unchanged"][:500],
                         "devices": [r.code for r in device_rows if r.result.action != "unchanged"][:500]},
            )
            _devices_changed()


# ---- the template -------------------------------------------------------------------------

PLACE_TEMPLATE = [
    ["场所编号", "场所类型", "名称", "地址", "纬度", "经度", "社区编码", "所属楼栋", "层数", "房间数", "租住人数",
     "房东姓名", "房东电话", "充电车位", "器材", "值班电话", "备注"],
    ["HZ-B-001", "楼栋", "洪庄村 1 号楼", "洪庄村 1 号", 31.1701, 120.6301, "", "", 6, "", "", "", "", "", "", "", ""],
    ["HZ-R-001", "出租房", "洪庄村 1 号楼出租房", "洪庄村 1 号 2 楼", 31.1702, 120.6302, "", "HZ-B-001", 4, 12, 20,
     "王房东", "13900000001", "", "", "", ""],
    ["HZ-MS-01", "微型消防站", "洪庄微型消防站", "洪庄村委会旁", 31.1710, 120.6290, "", "", "", "", "", "", "", "",
     "灭火器×10、水带×2、消防斧×1", "051200000119", ""],
]
DEVICE_TEMPLATE = [
    ["设备编号", "设备类型", "场所编号", "楼层", "房间", "安装位置", "型号", "固件版本", "心跳间隔(秒)", "电量",
     "传输装置地址", "所属传输装置", "系统类型", "系统地址", "部件类型", "部件地址", "安装日期"],
    ["HZ-00001", "烟感", "HZ-R-001", "3", "301", "3楼楼道", "JTY-GD", "1.2.0", 300, 100, "", "", "", "", "", "", "2026-03-01"],
    ["HZ-UITD-1", "用户信息传输装置", "HZ-B-001", "1", "", "消控室", "", "", 60, "", "000012345678", "", "", "", "", "", ""],
    ["HZ-P-0102", "火灾报警部件", "HZ-B-001", "2", "", "2楼走廊", "", "", 60, "", "", "HZ-UITD-1", 1, 0, 40, 258, ""],
]


def import_template_xlsx() -> bytes:
    """An example workbook: the two sheets with their headers and example rows, and notes."""
    wb = openpyxl.Workbook()
    sheets = ((wb.active, "场所", PLACE_TEMPLATE), (wb.create_sheet(), "设备", DEVICE_TEMPLATE))
    for ws, title, rows in sheets:
        ws.title = title
        for r in rows:
            ws.append(r)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for i in range(1, len(rows[0]) + 1):
            ws.column_dimensions[get_column_letter(i)].width = 14
    devices = wb["设备"]
    for row in devices.iter_rows(min_row=2, min_col=11, max_col=11):  # 传输装置地址: text, keep leading zeros
        for cell in row:
            cell.number_format = "@"
    notes = wb.create_sheet("说明")
    notes.append(["列", "说明"])
    notes.append(["场所编号 / 设备编号", "必填；固定编号，再次导入同一编号会更新（内容相同则不变）"])
    notes.append(["场所类型", "、".join(str(lbl) for _v, lbl in PlaceKind.choices)])
    notes.append(["设备类型", "、".join(str(lbl) for _v, lbl in DeviceKind.choices)])
    notes.append(["纬度/经度", "必填；WGS-84 坐标（GPS）"])
    notes.append(["社区编码", "可选；不填时按坐标所在社区"])
    notes.append(["所属楼栋", "可选；出租房所在楼栋的场所编号（可在本表中）"])
    notes.append(["传输装置地址", "用户信息传输装置必填：12 位十六进制数，以文本格式填写，如 000012345678"])
    notes.append(["所属传输装置、系统类型、系统地址、部件类型、部件地址", "火灾报警部件必填（GB/T 26875.3 点位表）"])
    notes.append(["规则", "任何一行出错则全部不导入，并逐行列出错误"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
