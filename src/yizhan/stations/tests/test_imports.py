import csv
import io

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from yizhan.accounts.models import RoleGrant, User
from yizhan.core.errors import PermissionDenied
from yizhan.core.models import AuditLog
from yizhan.core.testing.factories import make_staff
from yizhan.stations import errors as E
from yizhan.stations.imports import import_template_xlsx, parse_hours_text, stations_import
from yizhan.stations.models import Station, StationKeeper

pytestmark = pytest.mark.django_db

HEADER = ["编号", "名称", "类型", "地址", "纬度", "经度", "社区编码", "设施", "开放时间", "站长姓名", "站长手机", "主站"]


@pytest.fixture
def admin(tree):
    return make_staff("street_admin", tree.street)


def rows(tree):
    a, b = tree.community.code, tree.other_community.code
    return [
        ["HUB-1", "科学城服务总站", "服务总站", "科技城大道 1 号", 31.35, 120.37, a, "手机充电、饮用水、卫生间", "24小时", "", "", ""],
        ["KX-001", "东渚驿站", "驿站", "石阳路 18 号", 31.34, 120.38, a, "wifi,热水", "周一至周五 09:00-18:00; 周六 10:00-16:00",
         "王站长", "13912345678", "HUB-1"],
        ["KX-002", "龙惠暖新驿站", '暖"新"驿站', "龙惠路 2 号", 31.36, 120.42, b, "", "每天 08:00-20:00", "", "", "HUB-1"],
    ]


def xlsx(header, data) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for r in data:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(header, data, encoding="utf-8-sig") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(data)
    return buf.getvalue().encode(encoding)


def test_good_xlsx_imports_everything(tree, admin):
    report = stations_import(actor=admin, file_name="stations.xlsx", content=xlsx(HEADER, rows(tree)))
    assert report.ok, report.rows
    assert (report.created, report.updated) == (3, 0)
    assert [r.action for r in report.rows] == ["create"] * 3 and [r.row for r in report.rows] == [2, 3, 4]
    hub = Station.objects.get(code="HUB-1")
    st = Station.objects.get(code="KX-001")
    assert hub.type == "hub" and hub.hours["sun"] == [["00:00", "24:00"]]
    assert st.hub == hub and st.amenities == ["hot_water", "wifi"]
    assert st.hours["mon"] == [["09:00", "18:00"]] and st.hours["sat"] == [["10:00", "16:00"]] and st.hours["sun"] == []
    assert Station.objects.get(code="KX-002").type == "warm"
    keeper = User.objects.get(phone="13912345678")
    assert keeper.display_name == "王站长" and not keeper.has_usable_password()
    assert StationKeeper.objects.filter(station=st, user=keeper, is_primary=True).exists()
    assert RoleGrant.objects.filter(user=keeper, role="keeper", jurisdiction=tree.community).exists()
    assert AuditLog.objects.filter(action="import").count() == 1


def test_bad_rows_write_nothing(tree, admin):
    data = rows(tree)
    data[1][4] = 95  # latitude out of range
    data[2][7] = "按摩椅"  # unknown amenity
    data[2][8] = "看心情"  # unreadable hours
    report = stations_import(actor=admin, file_name="s.xlsx", content=xlsx(HEADER, data))
    assert not report.ok and report.created == report.updated == 0
    assert [r.action for r in report.rows] == ["create", "error", "error"]
    assert report.rows[1].errors[0]["field"] == "lat" and report.rows[1].errors[0]["zh"] and report.rows[1].errors[0]["en"]
    assert {e["field"] for e in report.rows[2].errors} == {"amenities", "hours"}
    assert not Station.objects.exists() and not User.objects.filter(phone="13912345678").exists()
    lines = report.lines()
    assert any("第 3 行" in ln and "row 3" in ln for ln in lines) and "未写入" in lines[-1]


def test_dry_run_writes_nothing(tree, admin):
    report = stations_import(actor=admin, file_name="s.xlsx", content=xlsx(HEADER, rows(tree)), dry_run=True)
    assert report.ok and report.created == 3 and report.dry_run
    assert not Station.objects.exists()


def test_reimport_updates_instead_of_duplicating(tree, admin):
    stations_import(actor=admin, file_name="s.xlsx", content=xlsx(HEADER, rows(tree)))
    data = rows(tree)
    data[1][1] = "东渚驿站（新址）"
    report = stations_import(actor=admin, file_name="s.xlsx", content=xlsx(HEADER, data))
    assert report.ok and (report.created, report.updated) == (0, 3)
    assert Station.objects.count() == 3 and Station.objects.get(code="KX-001").name == "东渚驿站（新址）"
    assert StationKeeper.objects.count() == 1


def test_gbk_csv_and_english_headers(tree, admin):
    header = ["code", "name", "type", "address", "lat", "lng", "jurisdiction", "amenities", "hours"]
    data = [["KX-9", "科学城小站", "红色驿站", "科技城 9 号", "31.34", "120.38", tree.community.code, "饮用水", "周一至五 08:00-12:00, 14:00-18:00"]]
    report = stations_import(actor=admin, file_name="s.csv", content=csv_bytes(header, data, "gbk"))
    assert report.ok, report.rows
    st = Station.objects.get(code="KX-9")
    assert (st.name, st.type, st.amenities) == ("科学城小站", "red", ["drinking_water"])
    assert st.hours["fri"] == [["08:00", "12:00"], ["14:00", "18:00"]] and st.hours["sat"] == []


def test_utf8_csv_with_and_without_bom(tree, admin):
    data = [r[:7] for r in rows(tree)[:2]]
    data[1][0] = "KX-BOM"
    for enc, code in (("utf-8-sig", "KX-BOM"), ("utf-8", "KX-NOBOM")):
        data[1][0] = code
        report = stations_import(actor=admin, file_name="s.csv", content=csv_bytes(HEADER[:7], data, enc))
        assert report.ok, report.rows
        assert Station.objects.filter(code=code, name="东渚驿站").exists()


def test_out_of_scope_community(tree):
    community_admin = make_staff("community_admin", tree.community)
    report = stations_import(actor=community_admin, file_name="s.xlsx", content=xlsx(HEADER, rows(tree)))
    assert not report.ok
    bad = report.rows[2]
    assert bad.action == "error" and bad.errors[0]["field"] == "community" and "管辖" in bad.errors[0]["zh"]
    assert not Station.objects.exists()


def test_reimport_of_a_station_outside_scope(tree, admin):
    stations_import(actor=admin, file_name="s.xlsx", content=xlsx(HEADER, rows(tree)))
    community_admin = make_staff("community_admin", tree.community)
    data = [rows(tree)[2]]
    data[0][6] = tree.community.code  # try to pull B's station into A
    report = stations_import(actor=community_admin, file_name="s.xlsx", content=xlsx(HEADER, data))
    assert not report.ok and report.rows[0].errors[0]["field"] == "code"
    assert Station.objects.get(code="KX-002").jurisdiction == tree.other_community


def test_duplicate_codes_and_missing_columns(tree, admin):
    data = rows(tree)
    data[2][0] = "KX-001"
    report = stations_import(actor=admin, file_name="s.xlsx", content=xlsx(HEADER, data))
    assert not report.ok and report.rows[2].errors[0]["field"] == "code"
    with pytest.raises(E.ImportMissingColumns) as exc:
        stations_import(actor=admin, file_name="s.xlsx", content=xlsx(["编号", "名称"], [["a", "b"]]))
    assert "纬度" in exc.value.message.zh
    with pytest.raises(E.ImportBadFile):
        stations_import(actor=admin, file_name="s.xlsx", content=b"not a zip")
    with pytest.raises(E.ImportBadFile):
        stations_import(actor=admin, file_name="s.pdf", content=b"%PDF")
    with pytest.raises(E.ImportEmpty):
        stations_import(actor=admin, file_name="s.csv", content=csv_bytes(HEADER, []))


def test_workers_cannot_import(tree):
    keeper = make_staff("keeper", tree.community)
    with pytest.raises(PermissionDenied):
        stations_import(actor=keeper, file_name="s.xlsx", content=xlsx(HEADER, rows(tree)))


@pytest.mark.parametrize("text, expected", [
    ("每天 08:00-20:00", {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}),
    ("24小时", {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}),
    ("周一至周五 09:00-18:00; 周六 10:00-16:00", {"mon": [["09:00", "18:00"]], "sat": [["10:00", "16:00"]], "sun": []}),
    ("周六、周日 9:00-12:00；工作日 18:00-22:00", {"sat": [["09:00", "12:00"]], "mon": [["18:00", "22:00"]]}),
    ("Mon-Fri 07:00-19:00", {"mon": [["07:00", "19:00"]], "fri": [["07:00", "19:00"]], "sat": []}),
    ("每天 22:00-06:00", {"wed": [["22:00", "06:00"]]}),
])
def test_parse_hours_text(text, expected):
    hours = parse_hours_text(text)
    for day, intervals in expected.items():
        assert hours[day] == intervals


def test_template_has_headers():
    wb = openpyxl.load_workbook(io.BytesIO(import_template_xlsx()))
    header = [c.value for c in wb.active[1]]
    assert header[:3] == ["编号", "名称", "类型"] and "站长手机" in header


def test_command(tree, admin, tmp_path, capsys):
    path = tmp_path / "s.xlsx"
    path.write_bytes(xlsx(HEADER, rows(tree)))
    call_command("import-stations", str(path), "--as", admin.username, "--dry-run")
    out = capsys.readouterr().out
    assert "试运行" in out and "dry run" in out and not Station.objects.exists()
    call_command("import-stations", str(path), "--as", admin.username)
    assert Station.objects.count() == 3
    data = rows(tree)
    data[0][4] = "abc"
    path.write_bytes(xlsx(HEADER, data))
    with pytest.raises(CommandError):
        call_command("import_stations", str(path), "--as", admin.username)
    assert "第 2 行" in capsys.readouterr().out
