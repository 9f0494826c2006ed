"""The Excel import of places and devices: row errors in zh+en, all or nothing,
idempotent by code, scoped, and never a crash whatever the cells hold."""

from __future__ import annotations

import io

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st_

from yizhan.core.models import AuditLog
from yizhan.core.testing.factories import make_staff
from yizhan.safety import errors as E
from yizhan.safety.models import Device, Place
from yizhan.safety.services.imports import import_template_xlsx, safety_import

pytestmark = pytest.mark.django_db

PLACE_HEADER = ["场所编号", "场所类型", "名称", "地址", "纬度", "经度", "所属楼栋", "房间数", "房东姓名", "房东电话"]
DEVICE_HEADER = ["设备编号", "设备类型", "场所编号", "房间", "心跳间隔(秒)", "传输装置地址", "所属传输装置", "系统类型",
                 "系统地址", "部件类型", "部件地址"]


def book(places=None, devices=None, *, place_header=PLACE_HEADER, device_header=DEVICE_HEADER) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, header, rows in (("场所", place_header, places), ("设备", device_header, devices)):
        if rows is None:
            continue
        ws = wb.create_sheet(title)
        ws.append(header)
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def place_rows(st):
    lat, lng = st.tree.point(st.tree.grid)
    return [
        ["I-BLD", "楼栋", "导入楼", "东渚路 1 号", lat, lng, "", "", "", ""],
        ["I-RH", "出租房", "导入出租房", "东渚路 1 号 2 楼", lat + 0.0005, lng, "I-BLD", 6, "赵房东", "13900000009"],
    ]


def device_rows():
    return [
        ["I-S1", "烟感", "I-RH", "201", 300, "", "", "", "", "", ""],
        ["I-S2", "smoke", "T-RH-1", "102", 60, "", "", "", "", "", ""],
        ["I-TX", "用户信息传输装置", "I-BLD", "", 60, "0000AA00BB01", "", "", "", "", ""],
        ["I-P1", "火灾报警部件", "I-BLD", "", 60, "", "I-TX", 1, 0, 40, 5],
    ]


def test_good_book_imports_everything_then_nothing(safety_tree):
    st = safety_tree
    content = book(place_rows(st), device_rows())
    report = safety_import(actor=st.manager, file_name="a.xlsx", content=content)
    assert report.ok, report.lines()
    assert (report.places_created, report.devices_created) == (2, 4)
    rh = Place.objects.get(code="I-RH")
    assert rh.parent.code == "I-BLD" and rh.jurisdiction == st.tree.community and rh.landlord_phone == "13900000009"
    p1 = Device.objects.get(code="I-P1")
    assert p1.transmitter.code == "I-TX" and p1.gb_comp_addr == 5 and p1.jurisdiction == st.tree.community
    assert Device.objects.get(code="I-TX").gb_address == 0xAA00BB01
    logs = AuditLog.objects.filter(action="import", object_type="safety.place").count()
    assert logs == 1
    again = safety_import(actor=st.manager, file_name="a.xlsx", content=content)
    assert again.ok and {r.action for r in again.rows} == {"unchanged"}
    assert AuditLog.objects.filter(action="import", object_type="safety.place").count() == logs
    rows = place_rows(st)
    rows[1][7] = 8
    third = safety_import(actor=st.manager, file_name="a.xlsx", content=book(rows, device_rows()))
    assert third.ok and third.places_updated == 1 and third.places_created == 0
    assert Place.objects.get(code="I-RH").rooms == 8 and Place.objects.filter(code__startswith="I-").count() == 2


def test_row_errors_write_nothing(safety_tree):
    st = safety_tree
    places = place_rows(st)
    places[0][4] = 95  # latitude
    places[1][1] = "城堡"  # kind
    devices = device_rows()
    devices[1][2] = "NOPE"  # unknown place
    devices[2][5] = "12345"  # short address
    devices.append(["I-S1", "烟感", "I-RH", "", "", "", "", "", "", "", ""])  # duplicate code
    devices.append(["I-B1", "烟感", "T-RH-B", "", "", "", "", "", "", "", ""])  # another community
    report = safety_import(actor=st.manager, file_name="b.xlsx", content=book(places, devices))
    assert not report.ok and report.places_created == report.devices_created == 0
    errors = {(r.sheet, r.row): {e["field"] for e in r.errors} for r in report.rows if r.action == "error"}
    assert errors[("places", 2)] == {"lat"} and errors[("places", 3)] == {"kind"}
    assert errors[("devices", 3)] == {"place"} and errors[("devices", 4)] == {"gb_address"}
    assert "code" in errors[("devices", 6)] and "place" in errors[("devices", 7)]
    for r in report.rows:
        for e in r.errors:
            assert e["zh"] and e["en"] and e["zh"] != e["en"]
    lines = report.lines()
    assert any("场所表第 2 行" in ln and "places row 2" in ln for ln in lines) and "未写入" in lines[-1]
    assert not Place.objects.filter(code__startswith="I-").exists()
    assert not Device.objects.filter(code__startswith="I-").exists()


def test_dry_run_and_scope(safety_tree):
    st = safety_tree
    report = safety_import(actor=st.manager, file_name="c.xlsx", content=book(place_rows(st), device_rows()),
                           dry_run=True)
    assert report.ok and report.places_created == 2 and not Place.objects.filter(code__startswith="I-").exists()
    report = safety_import(actor=st.other_manager, file_name="c.xlsx", content=book(place_rows(st), None))
    assert not report.ok and all(r.action == "error" for r in report.rows)
    with pytest.raises(E.PermissionDenied):
        safety_import(actor=st.grid_worker, file_name="c.xlsx", content=book(place_rows(st), None))


@pytest.mark.parametrize("content, name, error", [
    (b"not a zip", "x.xlsx", E.ImportBadFile),
    (b"a,b\n1,2", "x.csv", E.ImportBadFile),
    (None, "x.xlsx", E.ImportEmpty),
    ("missing", "x.xlsx", E.ImportMissingColumns),
])
def test_file_level_errors(safety_tree, content, name, error):
    if content is None:
        content = book([], [])
    elif content == "missing":
        content = book([["X"]], None, place_header=["场所编号"])
    with pytest.raises(error) as exc:
        safety_import(actor=safety_tree.manager, file_name=name, content=content)
    assert exc.value.message.zh and exc.value.field == "file"


def test_the_template_imports_as_it_is(tree):
    admin = make_staff("street_admin", tree.other_street)  # the template's points lie in 洪庄
    report = safety_import(actor=admin, file_name="t.xlsx", content=import_template_xlsx())
    assert report.ok, report.lines()
    assert (report.places_created, report.devices_created) == (3, 3)
    assert Device.objects.get(code="HZ-UITD-1").gb_address == 0x000012345678
    assert Place.objects.get(code="HZ-MS-01").equipment[0] == {"item": "灭火器", "count": 10}


CELL = st_.one_of(
    st_.none(), st_.text(st_.characters(exclude_categories=("Cc", "Cs")), max_size=40), st_.integers(min_value=-10**12, max_value=10**12),
    st_.floats(allow_nan=False, allow_infinity=False), st_.booleans(),
    st_.dates(), st_.sampled_from(["出租房", "烟感", "T-RH-1", "31.3", "000012345678", "=1+1", "\u202e\u200b"]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(place=st_.lists(CELL, min_size=10, max_size=10), device=st_.lists(CELL, min_size=11, max_size=11))
def test_any_cells_give_a_report_never_a_crash(safety_tree, place, device):
    place[0], device[0] = "H-PLACE", "H-DEV"  # known codes, so we can tell what was written
    before = (Place.objects.count(), Device.objects.count())
    report = safety_import(actor=safety_tree.manager, file_name="h.xlsx", content=book([place], [device]))
    if report.ok:
        Device.objects.filter(code="H-DEV").delete()
        Place.objects.filter(code="H-PLACE").delete()
    else:
        assert all(e["zh"] and e["en"] for r in report.rows for e in r.errors)
    assert (Place.objects.count(), Device.objects.count()) == before


def test_import_page_shows_row_errors(safety_tree, client):
    st = safety_tree
    client.force_login(st.manager)
    assert client.get("/safety/places/import/").status_code == 200
    r = client.get("/safety/places/import/template.xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    places = place_rows(st)
    places[0][4] = 95
    upload = io.BytesIO(book(places, None))
    upload.name = "bad.xlsx"
    r = client.post("/safety/places/import/", {"file": upload})
    text = r.content.decode()
    assert r.status_code == 400 and "纬度必须在 -90 到 90 之间" in text and "未导入任何数据" in text
    upload = io.BytesIO(book(place_rows(st), None))
    upload.name = "good.xlsx"
    r = client.post("/safety/places/import/", {"file": upload})
    assert r.status_code == 200 and Place.objects.filter(code__startswith="I-").count() == 2
