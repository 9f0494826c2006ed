"""Django test-client tests of the station pages: status codes, scoping, bad input
kept beside its field, and the English switch. Data is built through the services."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from django.utils import timezone

from yizhan.core.testing.factories import (
    make_jurisdiction_tree,
    make_staff,
    make_user,
    make_worker,
    unique_phone,
)
from yizhan.stations import services
from yizhan.stations.models import ConditionReport, Donation, Station, StationKeeper, StationSupply
from yizhan.stations.qr import qr_token_for

pytestmark = pytest.mark.django_db

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS_OPEN = {d: [["00:00", "24:00"]] for d in DAYS}
NEVER_OPEN = {d: [] for d in DAYS}


def _refresh_nearby():
    from yizhan.stations import nearby

    nearby.nearby_index_invalidate()


@pytest.fixture
def world():
    tree = make_jurisdiction_tree()
    district = make_staff("district_admin", tree.district)
    admin_a = make_staff("community_admin", tree.community)
    admin_b = make_staff("community_admin", tree.other_community)
    lat, lng = tree.point(tree.grid)
    a = services.station_create(actor=district, data={
        "code": "KX-A1", "name": "东渚驿站", "name_en": "Dongzhu Station", "address": "东渚路 1 号",
        "lat": lat, "lng": lng, "jurisdiction": tree.grid.code, "hours": ALWAYS_OPEN,
        "amenities": ["phone_charging", "ebike_charging", "drinking_water", "toilet"],
        "host_type": "community", "host_name": "东渚社区居委会",
    })
    # A little further away, never open, no e-bike charging.
    a2 = services.station_create(actor=district, data={
        "code": "KX-A2", "name": "石阳驿站", "address": "石阳路 2 号", "lat": lat + 0.01, "lng": lng,
        "jurisdiction": tree.grid.code, "hours": NEVER_OPEN, "amenities": ["drinking_water"],
    })
    blat, blng = tree.point(tree.other_community)
    b = services.station_create(actor=district, data={
        "code": "KX-B1", "name": "龙惠驿站", "address": "龙惠路 3 号", "lat": blat, "lng": blng,
        "jurisdiction": tree.other_community.code, "hours": ALWAYS_OPEN, "amenities": ["wifi"],
    })
    keeper_phone = unique_phone()
    keeper = make_user(username="keeper_a", phone=keeper_phone, display_name="王站长")
    services.station_keeper_assign(actor=district, station=a, user=keeper)
    keeper_b = make_user(username="keeper_b", phone=unique_phone(), display_name="李站长")
    services.station_keeper_assign(actor=district, station=b, user=keeper_b)
    services.supply_set_threshold(actor=keeper, station=a, item="water", threshold=10)
    services.supply_record(actor=keeper, station=a, item="water", kind="restock", quantity=5)
    _refresh_nearby()
    return SimpleNamespace(
        tree=tree, district=district, admin_a=admin_a, admin_b=admin_b, a=a, a2=a2, b=b,
        keeper=keeper, keeper_phone=keeper_phone, keeper_b=keeper_b, worker=make_worker(),
        lat=lat, lng=lng,
    )


def text(resp) -> str:
    return resp.content.decode()


# ---------------------------------------------------------------- finder


def test_finder_without_a_point_shows_the_form_and_the_places(client, world):
    resp = client.get("/")
    assert resp.status_code == 200
    body = text(resp)
    assert 'id="finder-form"' in body
    assert "电动车充电" in body and "急救包" in body and "营业中" in body
    assert world.tree.community.code in body  # the place picker lists communities
    assert "leaflet.js" in body


def test_finder_lists_nearest_stations_with_times_without_js(client, world):
    resp = client.get("/", {"lat": world.lat, "lng": world.lng})
    assert resp.status_code == 200
    body = text(resp)
    assert body.index("东渚驿站") < body.index("石阳驿站")
    assert "营业中" in body
    first = body[body.index("东渚驿站", body.index("station-list")):body.index("石阳驿站")]
    # minutes on foot and by e-bike, each labelled for screen readers
    assert re.search(r"步行</span> \d+ 分钟", first) and re.search(r"电动车</span> \d+ 分钟", first)


def test_finder_filters_by_amenity_and_open_now(client, world):
    resp = client.get("/stations/nearby/partial", {
        "lat": world.lat + 0.01, "lng": world.lng, "amenity": "ebike_charging", "open_now": "on",
    }, headers={"HX-Request": "true"})
    assert resp.status_code == 200
    body = text(resp)
    assert "<html" not in body  # a fragment for htmx
    assert "东渚驿站" in body and "石阳驿站" not in body


def test_finder_shows_when_a_closed_station_opens(client, world):
    body = text(client.get("/stations/nearby/partial", {"lat": world.lat + 0.01, "lng": world.lng}))
    assert "石阳驿站" in body
    assert "休息中" in body  # never opens: no "opens at"


def test_finder_uses_a_picked_place_when_location_is_refused(client, world):
    resp = client.get("/", {"place": world.tree.grid.parent.code})
    assert resp.status_code == 200
    assert "东渚驿站" in text(resp)


def test_finder_bad_coordinates_say_so(client, world):
    resp = client.get("/stations/nearby/partial", {"lat": "95", "lng": "120"})
    assert resp.status_code == 200
    assert "纬度" in text(resp)
    resp = client.get("/", {"lat": "abc", "lng": "120"})
    assert "请提供有效的经纬度" in text(resp)


def _map_config(resp) -> dict:
    import json

    return json.loads(re.search(r'<script id="map-config" type="application/json">(.*?)</script>',
                                text(resp), re.S).group(1))


def test_map_shifts_to_gcj02_only_for_a_chinese_tile_layer(client, world, settings):
    cfg = _map_config(client.get("/"))
    assert cfg["tiles"]["gcj02"] is False  # no tiles configured: the page works without them
    settings.YIZHAN_TILE_URL = "https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}&style=8"
    assert _map_config(client.get("/"))["tiles"]["gcj02"] is True
    settings.YIZHAN_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    cfg = _map_config(client.get("/", {"lat": world.lat, "lng": world.lng}))
    assert cfg["tiles"]["gcj02"] is False
    # stations travel in WGS-84; the shift happens in the browser, for display only
    assert cfg["markers"][0]["lat"] == pytest.approx(world.lat)


# ---------------------------------------------------------------- detail


def test_detail_shows_station_with_masked_keeper_phone(client, world):
    resp = client.get(f"/stations/{world.a.code}/")
    assert resp.status_code == 200
    body = text(resp)
    for expected in ("东渚驿站", "东渚路 1 号", "社区", "东渚社区居委会", "营业中", "手机充电", "饮用水", "扫描"):
        assert expected in body, expected
    assert world.keeper_phone not in body
    assert world.keeper_phone[:3] in body and world.keeper_phone[-4:] in body
    assert "tel:" not in body


def test_detail_shows_upcoming_holiday_hours_and_recent_reports(client, world):
    day = timezone.localdate() + dt.timedelta(days=3)
    services.station_update(actor=world.district, station=world.a, data={
        "holidays": [{"date": day.isoformat(), "intervals": [], "note": "国庆休息"}],
    })
    services.condition_report_create(actor=world.worker, station=world.a, kind="no_hot_water")
    body = text(client.get(f"/stations/{world.a.code}/"))
    assert "节假日调整" in body and "国庆休息" in body and day.strftime("%m-%d") in body
    assert "没有热水" in body and "刚刚" in body


def test_detail_unknown_or_removed_station_is_404(client, world):
    assert client.get("/stations/NOPE/").status_code == 404
    services.station_set_status(actor=world.district, station=world.b, status="removed", reason="拆迁")
    assert client.get(f"/stations/{world.b.code}/").status_code == 404


def test_worker_rates_a_station_and_bad_rating_keeps_the_comment(client, world):
    client.force_login(world.worker)
    resp = client.post(f"/stations/{world.a.code}/review/", {"rating": "9", "comment": "热水很方便"})
    assert resp.status_code == 400
    assert "热水很方便" in text(resp)
    resp = client.post(f"/stations/{world.a.code}/review/", {"rating": "5", "comment": "热水很方便"})
    assert resp.status_code == 302
    body = text(client.get(f"/stations/{world.a.code}/"))
    assert "热水很方便" in body and "5.0" in body


def test_anonymous_review_goes_to_login(client, world):
    resp = client.post(f"/stations/{world.a.code}/review/", {"rating": "5"})
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/otp/?next=")


# ---------------------------------------------------------------- check-in


def test_checkin_needs_login(client, world):
    token = qr_token_for(station=world.a)
    resp = client.get(f"/c/{token}/")
    assert resp.status_code == 302
    assert resp["Location"] == f"/accounts/otp/?next=%2Fc%2F{token}%2F"


def test_checkin_then_report_shows_on_the_station_page(client, world):
    client.force_login(world.worker)
    token = qr_token_for(station=world.a)
    resp = client.get(f"/c/{token}/")
    assert resp.status_code == 200
    body = text(resp)
    assert "签到成功" in body and "没有热水" in body
    second = text(client.get(f"/c/{token}/"))
    assert "30分钟内已签到，本次不重复计数" in second
    assert Station.objects.get(pk=world.a.pk).visit_count == 1

    checkin_id = re.search(r'name="checkin" value="(\d+)"', body).group(1)
    resp = client.post(f"/c/{token}/report/", {"kind": "no_hot_water", "note": "饮水机坏了", "checkin": checkin_id})
    assert resp.status_code == 302 and resp["Location"] == f"/stations/{world.a.code}/"
    report = ConditionReport.objects.get(station=world.a)
    assert report.kind == "no_hot_water" and report.checkin_id == int(checkin_id)
    body = text(client.get(resp["Location"]))
    assert "没有热水" in body and "饮水机坏了" in body


def test_checkin_report_without_kind_keeps_the_note(client, world):
    client.force_login(world.worker)
    token = qr_token_for(station=world.a)
    resp = client.post(f"/c/{token}/report/", {"note": "门口积水"})
    assert resp.status_code == 400
    assert "门口积水" in text(resp) and "请选择您看到的情况" in text(resp)
    assert not ConditionReport.objects.exists()


@pytest.mark.parametrize("token, status, message", [
    ("garbage", 400, "二维码无法识别"),
    ("tampered", 400, "签名不符"),
    ("yesterday", 400, "二维码已过期"),
])
def test_bad_qr_tokens_get_a_clear_page(client, world, token, status, message):
    client.force_login(world.worker)
    if token == "tampered":
        good = qr_token_for(station=world.a)
        token = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    elif token == "yesterday":
        token = qr_token_for(station=world.a, day=timezone.localdate() - dt.timedelta(days=1))
    resp = client.get(f"/c/{token}/")
    assert resp.status_code == status
    assert message in text(resp)
    assert not world.a.checkins.exists()


def test_qr_of_a_removed_station_is_404(client, world):
    client.force_login(world.worker)
    token = qr_token_for(station=world.b)
    services.station_set_status(actor=world.district, station=world.b, status="removed", reason="拆迁")
    resp = client.get(f"/c/{token}/")
    assert resp.status_code == 404


# ---------------------------------------------------------------- keeper


def test_keeper_home_lists_own_stations_with_low_stock(client, world):
    client.force_login(world.keeper)
    resp = client.get("/keeper/")
    assert resp.status_code == 200
    body = text(resp)
    assert "东渚驿站" in body and "龙惠驿站" not in body
    assert "1 项物资不足" in body
    services.condition_report_create(actor=world.worker, station=world.a, kind="charger_broken")
    body = text(client.get("/keeper/"))
    assert "1 条未读提醒" in body and "充电设备坏了" in body and "1 条待处理反馈" in body


def test_keeper_pages_need_login(client, world):
    resp = client.get(f"/keeper/stations/{world.a.code}/")
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/?next=")


def test_keeper_cannot_open_another_stations_page(client, world):
    client.force_login(world.keeper_b)
    for url in (f"/keeper/stations/{world.a.code}/", f"/keeper/stations/{world.a.code}/qr/"):
        assert client.get(url).status_code == 403, url
    resp = client.post(f"/keeper/stations/{world.a.code}/supplies/water/",
                       {"water-kind": "take", "water-quantity": "5"})
    assert resp.status_code == 403
    assert StationSupply.objects.get(station=world.a, item="water").quantity == 5
    # a worker is no keeper at all
    client.force_login(world.worker)
    assert client.get(f"/keeper/stations/{world.a.code}/").status_code == 403


def test_keeper_restocks_and_the_low_badge_goes(client, world):
    client.force_login(world.keeper)
    body = text(client.get(f"/keeper/stations/{world.a.code}/"))
    assert "低于预警值" in body
    resp = client.post(f"/keeper/stations/{world.a.code}/supplies/water/",
                       {"water-kind": "restock", "water-quantity": "10"})
    assert resp.status_code == 302
    assert StationSupply.objects.get(station=world.a, item="water").quantity == 15
    body = text(client.get(resp["Location"]))
    assert 'data-qty="15"' in body and "低于预警值" not in body


def test_keeper_bad_quantity_is_shown_beside_the_field_and_kept(client, world):
    client.force_login(world.keeper)
    url = f"/keeper/stations/{world.a.code}/supplies/water/"
    resp = client.post(url, {"water-kind": "take", "water-quantity": "abc"})
    assert resp.status_code == 400
    body = text(resp)
    assert "请输入整数" in body and 'value="abc"' in body
    resp = client.post(url, {"water-kind": "take", "water-quantity": "-3"})
    assert resp.status_code == 400 and 'value="-3"' in text(resp)
    resp = client.post(url, {"water-kind": "take", "water-quantity": "50"})
    assert resp.status_code == 400
    assert 'value="50"' in text(resp) and "库存" in text(resp)
    assert StationSupply.objects.get(station=world.a, item="water").quantity == 5


def test_keeper_htmx_post_returns_the_fragment(client, world):
    client.force_login(world.keeper)
    url = f"/keeper/stations/{world.a.code}/supplies/water/"
    resp = client.post(url, {"water-kind": "take", "water-quantity": "x"}, headers={"HX-Request": "true"})
    assert resp.status_code == 200 and "<html" not in text(resp) and "请输入整数" in text(resp)
    resp = client.post(url, {"water-kind": "take", "water-quantity": "2"}, headers={"HX-Request": "true"})
    assert resp.status_code == 200 and 'data-qty="3"' in text(resp)


def test_keeper_sets_threshold_records_donation_and_resolves_report(client, world):
    client.force_login(world.keeper)
    base = f"/keeper/stations/{world.a.code}"
    assert client.post(f"{base}/thresholds/water/", {"t-water-threshold": "3"}).status_code == 302
    assert StationSupply.objects.get(station=world.a, item="water").threshold == 3

    resp = client.post(f"{base}/donations/", {"giver_kind": "merchant", "giver_name": "",
                                              "description": "矿泉水两箱"})
    assert resp.status_code == 400
    assert "请填写捐赠方名称" in text(resp) and "矿泉水两箱" in text(resp)
    resp = client.post(f"{base}/donations/", {"giver_kind": "merchant", "giver_name": "好邻居超市",
                                              "description": "矿泉水两箱", "item": "water", "quantity": "24"})
    assert resp.status_code == 302
    assert Donation.objects.get(station=world.a).giver_name == "好邻居超市"
    assert StationSupply.objects.get(station=world.a, item="water").quantity == 29

    report = services.condition_report_create(actor=world.worker, station=world.a, kind="charger_broken")
    body = text(client.get(f"{base}/"))
    assert "充电设备坏了" in body
    assert client.post(f"{base}/reports/{report.pk}/resolve/").status_code == 302
    report.refresh_from_db()
    assert report.resolved_at is not None


def test_keeper_uploads_a_photo_and_a_non_image_is_refused(client, world, settings, tmp_path):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    settings.MEDIA_ROOT = str(tmp_path)
    client.force_login(world.keeper)
    url = f"/keeper/stations/{world.a.code}/photos/"
    resp = client.post(url, {"photo": SimpleUploadedFile("x.jpg", b"not an image", "image/jpeg"),
                             "caption": "门口"})
    assert resp.status_code == 400
    assert 'value="门口"' in text(resp) and 'id="id_photo-error"' in text(resp)
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buf, "JPEG")
    resp = client.post(url, {"photo": SimpleUploadedFile("x.jpg", buf.getvalue(), "image/jpeg"),
                             "caption": "门口"})
    assert resp.status_code == 302
    assert world.a.photos.count() == 1
    assert 'alt="门口"' in text(client.get(f"/stations/{world.a.code}/"))


def test_keeper_qr_page_shows_todays_code(client, world):
    client.force_login(world.keeper)
    resp = client.get(f"/keeper/stations/{world.a.code}/qr/")
    assert resp.status_code == 200
    body = text(resp)
    assert "<svg" in body and timezone.localdate().isoformat() in body


def test_admin_may_do_keeper_work_in_scope_only(client, world):
    client.force_login(world.admin_a)
    assert client.get(f"/keeper/stations/{world.a.code}/").status_code == 200
    assert client.get(f"/keeper/stations/{world.b.code}/").status_code == 403


# ---------------------------------------------------------------- admin


def test_manage_list_is_scoped(client, world):
    client.force_login(world.admin_a)
    body = text(client.get("/manage/stations/"))
    assert "东渚驿站" in body and "龙惠驿站" not in body
    client.force_login(world.district)
    body = text(client.get("/manage/stations/"))
    assert "东渚驿站" in body and "龙惠驿站" in body
    body = text(client.get("/manage/stations/", {"q": "龙惠"}))
    assert "东渚驿站" not in body and "龙惠驿站" in body


def test_manage_pages_refuse_workers_and_anonymous(client, world):
    assert client.get("/manage/stations/").status_code == 302
    client.force_login(world.worker)
    for url in ("/manage/stations/", "/manage/stations/new/", "/manage/import/", "/manage/coverage/"):
        assert client.get(url).status_code == 403, url


def test_other_community_admin_cannot_edit(client, world):
    client.force_login(world.admin_b)
    assert client.get(f"/manage/stations/{world.a.code}/edit/").status_code == 403
    resp = client.post(f"/manage/stations/{world.a.code}/edit/", {"name": "改名"})
    assert resp.status_code == 403
    assert Station.objects.get(pk=world.a.pk).name == "东渚驿站"


def _station_post(world, **over):
    data = {
        "code": "KX-A9", "name": "新驿站", "type": "station", "host_type": "shop", "host_name": "便利店",
        "address": "科技城路 9 号", "lat": str(world.lat), "lng": str(world.lng),
        "jurisdiction": world.tree.grid.code, "hub": "", "amenities": ["wifi", "toilet"],
        "hours_mon": "08:00-20:00", "hours_tue": "08:00-20:00, 21:00-02:00", "status": "open",
        "status_reason": "", "keeper_phones": "",
    }
    data.update(over)
    return data


def test_admin_creates_a_station_with_hours_and_keeper(client, world):
    client.force_login(world.admin_a)
    phone = unique_phone()
    resp = client.post("/manage/stations/new/", _station_post(world, keeper_phones=phone))
    assert resp.status_code == 302, text(resp)[:3000]
    s = Station.objects.get(code="KX-A9")
    assert s.hours["tue"] == [["08:00", "20:00"], ["21:00", "02:00"]]
    assert s.amenities == ["toilet", "wifi"] or set(s.amenities) == {"wifi", "toilet"}
    assert StationKeeper.objects.filter(station=s, user__phone=phone).exists()
    body = text(client.get(resp["Location"]))
    assert 'value="08:00-20:00, 21:00-02:00"' in body


def test_admin_bad_station_input_keeps_what_was_typed(client, world):
    client.force_login(world.admin_a)
    resp = client.post("/manage/stations/new/", _station_post(world, hours_wed="8点到晚上", name="新驿站乙"))
    assert resp.status_code == 400
    body = text(resp)
    assert "8点到晚上" in body and "新驿站乙" in body and "格式应为" in body
    resp = client.post("/manage/stations/new/", _station_post(world, hours_wed="25:00-26:00"))
    assert resp.status_code == 400 and 'value="25:00-26:00"' in text(resp)
    assert 'id="id_hours_wed-error"' in text(resp)  # beside Wednesday's input
    resp = client.post("/manage/stations/new/", _station_post(world, code="KX-A1"))
    assert resp.status_code == 400 and "驿站编号已存在" in text(resp)
    resp = client.post("/manage/stations/new/", _station_post(world, keeper_phones="12345"))
    assert resp.status_code == 400 and "手机" in text(resp) and 'value="12345"' in text(resp)
    assert not Station.objects.filter(code="KX-A9").exists()
    # out of scope community is not even a choice
    resp = client.post("/manage/stations/new/", _station_post(world, jurisdiction=world.tree.other_community.code))
    assert resp.status_code == 400 and not Station.objects.filter(code="KX-A9").exists()


def test_admin_edits_status_and_removal_needs_a_reason(client, world):
    client.force_login(world.admin_a)
    url = f"/manage/stations/{world.a.code}/edit/"
    page = text(client.get(url))
    assert 'value="00:00-24:00"' in page and world.keeper_phone in page
    from yizhan.core.models import AuditLog

    assert AuditLog.objects.filter(actor=world.admin_a, action="read",
                                   object_type="stations.stationkeeper").exists()
    data = _station_post(world, code=world.a.code, name="东渚驿站", status="removed", status_reason="",
                         keeper_phones=world.keeper_phone)
    resp = client.post(url, data)
    assert resp.status_code == 400 and "撤除驿站时请填写原因" in text(resp)
    data.update(status="closed", status_reason="装修")
    resp = client.post(url, data)
    assert resp.status_code == 302
    s = Station.objects.get(pk=world.a.pk)
    assert (s.status, s.status_reason, s.host_name) == ("closed", "装修", "便利店")


CSV_OK = (
    "编号,名称,类型,主办方类型,主办方,地址,纬度,经度,社区编码,设施,开放时间\n"
    "KX-N1,新建驿站一,驿站,社区,东渚社区,东渚路 10 号,{lat},{lng},{comm},手机充电、饮用水,每天 08:00-20:00\n"
)


def test_import_preview_then_confirm(client, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(world.admin_a)
    content = CSV_OK.format(lat=world.lat, lng=world.lng, comm=world.tree.grid.code).encode()
    resp = client.post("/manage/import/", {"file": SimpleUploadedFile("s.csv", content, "text/csv")})
    assert resp.status_code == 200
    assert "全部通过" in text(resp) and 'name="confirm"' in text(resp)
    assert not Station.objects.filter(code="KX-N1").exists()
    resp = client.post("/manage/import/", {"confirm": "1"})
    assert resp.status_code == 302
    assert Station.objects.get(code="KX-N1").name == "新建驿站一"


def test_import_errors_are_reported_row_by_row_in_chinese(client, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(world.admin_a)
    content = CSV_OK.format(lat="99", lng=world.lng, comm=world.tree.other_community.code).encode()
    resp = client.post("/manage/import/", {"file": SimpleUploadedFile("s.csv", content, "text/csv")})
    assert resp.status_code == 400
    body = text(resp)
    assert "未导入任何数据" in body and "纬度" in body
    assert 'name="confirm"' not in body
    resp = client.post("/manage/import/", {"file": SimpleUploadedFile("s.txt", b"x", "text/plain")})
    assert resp.status_code == 400 and "只支持 .xlsx 或 .csv 文件" in text(resp)
    assert not Station.objects.filter(code="KX-N1").exists()


def test_import_template_downloads(client, world):
    client.force_login(world.admin_a)
    resp = client.get("/manage/import/template.xlsx")
    assert resp.status_code == 200 and resp.content[:2] == b"PK"


def test_coverage_page_offers_only_jurisdictions_in_scope(client, world):
    client.force_login(world.admin_a)
    body = text(client.get("/manage/coverage/"))
    assert world.tree.community.code in body and world.tree.other_community.code not in body
    resp = client.get("/manage/coverage/", {"jurisdiction": world.tree.other_community.code})
    assert resp.status_code == 400
    resp = client.get("/manage/coverage/", {"jurisdiction": world.tree.community.code, "mode": "walk"})
    assert resp.status_code == 200
    body = text(resp)
    assert 'id="area-share"' in body and "FeatureCollection" in body


# ---------------------------------------------------------------- language


def test_pages_switch_to_english(client, world):
    resp = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert resp.status_code == 302
    resp = client.get(f"/stations/{world.a.code}/")
    assert resp.status_code == 200
    assert '<html lang="en">' in text(resp)
    assert "Dongzhu Station" in text(resp)
    client.force_login(world.worker)
    resp = client.get("/c/garbage/")
    assert resp.status_code == 400
    assert "This QR code cannot be read" in text(resp)


# ---------------------------------------------------------------- weight


def test_finder_page_weighs_under_200_kb_gzipped_and_links_only_local_files(client, world):
    """Riders are on cheap phones and slow networks: the whole finder (HTML, CSS,
    scripts, icons; map tiles aside) stays under 200 KB gzipped, and nothing comes
    from a CDN."""
    import gzip

    from django.contrib.staticfiles import finders

    html = client.get("/", {"lat": world.lat, "lng": world.lng}).content
    refs = set(re.findall(r'(?:src|href)="(/static/[^"#?]+)', html.decode()))
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html.decode())
    assert any(r.endswith("leaflet.js") for r in refs) and any(r.endswith("/static/icons.svg") for r in refs)
    total = len(gzip.compress(html))
    for ref in sorted(refs):
        path = finders.find(ref.removeprefix("/static/"))
        assert path, f"{ref} is linked but not found"
        with open(path, "rb") as fh:
            total += len(gzip.compress(fh.read()))
    assert total < 200 * 1024, total
