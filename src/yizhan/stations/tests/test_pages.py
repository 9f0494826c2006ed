"""Browser tests of the station pages at 360 px (Playwright + Debian chromium):
what a worker and a keeper would check with their own eyes."""

from __future__ import annotations

import re

import pytest

from yizhan.core.testing.factories import (
    DEFAULT_PASSWORD,
    make_jurisdiction_tree,
    make_staff,
    make_user,
    unique_phone,
)
from yizhan.stations import services
from yizhan.stations.qr import qr_token_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS_OPEN = {d: [["00:00", "24:00"]] for d in DAYS}
NEVER_OPEN = {d: [] for d in DAYS}
# browser_page_factory (360 × 740, zh-CN, Asia/Shanghai) comes from yizhan.core.testing.browser
# (registered in conftest.py); live_server from pytest-django.


@pytest.fixture
def area():
    tree = make_jurisdiction_tree()
    district = make_staff("district_admin", tree.district)
    lat, lng = tree.point(tree.grid)
    return tree, district, lat, lng


def _station(district, tree, code, name, lat, lng, hours, amenities):
    return services.station_create(actor=district, data={
        "code": code, "name": name, "address": f"{name}路 1 号", "lat": lat, "lng": lng,
        "jurisdiction": tree.grid.code, "hours": hours, "amenities": amenities,
    })


def _refresh_nearby():
    from yizhan.stations import nearby

    nearby.nearby_index_invalidate()


def test_worker_finds_nearest_open_station_with_ebike_charging(area, browser_page_factory, live_server):
    tree, district, lat, lng = area
    # ~100 m: open, no e-bike charging; ~300 m: e-bike charging but never open;
    # ~600 m: open with e-bike charging — the one the worker needs.
    _station(district, tree, "P-NEAR", "最近的驿站", lat + 0.0009, lng, ALWAYS_OPEN, ["drinking_water"])
    _station(district, tree, "P-SHUT", "关门的充电站", lat + 0.0027, lng, NEVER_OPEN, ["ebike_charging"])
    _station(district, tree, "P-GOOD", "能充电的驿站", lat + 0.0054, lng, ALWAYS_OPEN,
             ["ebike_charging", "phone_charging"])
    _refresh_nearby()

    page = browser_page_factory(geolocation={"latitude": lat, "longitude": lng})
    page.goto(live_server.url + "/")
    first = page.locator(".station-item").first
    first.wait_for()
    assert "最近的驿站" in first.inner_text()

    page.get_by_label("电动车充电").check()
    page.wait_for_function("document.querySelector('.station-item') && "
                           "document.querySelector('.station-item').dataset.code !== 'P-NEAR'")
    assert "关门的充电站" in page.locator(".station-item").first.inner_text()
    page.get_by_label("营业中").check()
    page.wait_for_function("document.querySelector('.station-item').dataset.code === 'P-GOOD'")
    first = page.locator(".station-item").first
    text = first.inner_text()
    assert "能充电的驿站" in text and "营业中" in text
    assert re.search(r"\d+ 分钟", text)
    assert page.locator(".station-item").count() == 1
    page.screenshot(path=_shot("finder"), full_page=True)


def test_worker_checks_in_by_qr_and_reports_no_hot_water(area, browser_page_factory, live_server):
    from yizhan.accounts.sms import ConsoleSmsBackend

    tree, district, lat, lng = area
    station = _station(district, tree, "P-QR", "扫码驿站", lat, lng, ALWAYS_OPEN, ["hot_water"])
    phone = unique_phone()
    page = browser_page_factory()
    page.goto(live_server.url + f"/c/{qr_token_for(station=station)}/")
    # not logged in: the phone + code login, then back to the check-in
    assert "/accounts/otp/" in page.url
    page.get_by_label(re.compile("手机")).first.fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    page.get_by_text("验证码已发送").wait_for()
    code = ConsoleSmsBackend.last_code(phone)
    assert code
    page.get_by_label("验证码").fill(code)
    page.get_by_role("button", name="登录", exact=True).click()
    page.get_by_text("签到成功").wait_for()

    page.get_by_role("button", name="没有热水").click()
    page.wait_for_url(re.compile(r"/stations/P-QR/$"))
    reports = page.locator(".reports")
    assert "没有热水" in reports.inner_text()
    assert "刚刚" in reports.inner_text()
    station.refresh_from_db()
    assert station.visit_count == 1 and station.last_confirmed_at is not None
    page.screenshot(path=_shot("checkin-report"), full_page=True)


def test_keeper_restocks_water_and_the_low_badge_goes(area, browser_page_factory, live_server):
    tree, district, lat, lng = area
    station = _station(district, tree, "P-KEEP", "站长的驿站", lat, lng, ALWAYS_OPEN, [])
    keeper = make_user(username="keeper_browser", phone=unique_phone(), display_name="王站长")
    keeper.is_staff = False
    services.station_keeper_assign(actor=district, station=station, user=keeper)
    services.supply_set_threshold(actor=keeper, station=station, item="water", threshold=10)
    services.supply_record(actor=keeper, station=station, item="water", kind="restock", quantity=4)

    page = browser_page_factory()
    page.goto(live_server.url + "/keeper/")
    assert "/accounts/login/" in page.url
    page.get_by_label("用户名").fill("keeper_browser")
    page.get_by_label("密码").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r"/keeper/$"))
    assert "1 项物资不足" in page.locator(f"[data-code='{station.code}']").inner_text()

    page.get_by_role("link", name=re.compile("站长的驿站")).click()
    row = page.locator("#supply-water")
    assert row.locator(".qty").inner_text() == "4"
    assert row.get_by_text("低于预警值").is_visible()
    # taking more than there is: the message beside the field, the number kept
    row.get_by_label("操作").select_option("take")
    row.get_by_label("数量").fill("50")
    row.get_by_role("button", name="记录").click()
    page.locator("#supply-water").get_by_text("库存不足：现有 4").wait_for()
    row = page.locator("#supply-water")
    assert row.get_by_label("数量").input_value() == "50"
    assert row.locator(".qty").inner_text() == "4"
    row.get_by_label("操作").select_option("restock")
    row.get_by_label("数量").fill("10")
    row.get_by_role("button", name="记录").click()
    page.wait_for_function("document.querySelector('#supply-water .qty').textContent.trim() === '14'")
    row = page.locator("#supply-water")
    assert row.get_by_text("低于预警值").count() == 0
    assert page.locator("#low-badge").count() == 0
    page.screenshot(path=_shot("keeper-restocked"), full_page=True)
    page.goto(live_server.url + "/keeper/")
    assert "物资不足" not in page.locator(f"[data-code='{station.code}']").inner_text()


def test_finder_works_by_keyboard_with_location_refused(area, browser_page_factory, live_server):
    tree, district, lat, lng = area
    _station(district, tree, "P-KB1", "键盘驿站", lat, lng, ALWAYS_OPEN, ["toilet"])
    _refresh_nearby()
    page = browser_page_factory()  # no geolocation permission: the place picker is the way
    page.goto(live_server.url + "/")
    page.get_by_text("无法获取位置").wait_for()
    for _ in range(40):  # Tab to the place picker, choose the community with the keyboard
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "id_place":
            break
    else:
        pytest.fail("the place picker cannot be reached with Tab")
    page.select_option("#id_place", tree.community.code)  # what arrow keys + Enter do
    page.locator(".station-item").first.wait_for()
    page.wait_for_load_state()
    for _ in range(40):  # on to the 卫生间 filter, ticked with Space
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.value") == "toilet":
            break
    else:
        pytest.fail("the 卫生间 filter cannot be reached with Tab")
    page.keyboard.press("Space")
    page.wait_for_function("new URLSearchParams(location.search).get('amenity') === 'toilet'")
    assert "键盘驿站" in page.locator(".station-item").first.inner_text()
    page.keyboard.press("Tab")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"


def test_map_script_gcj02_shift_matches_the_server(browser_page_factory, live_server):
    from yizhan.core.geo import wgs84_to_gcj02

    page = browser_page_factory()
    page.goto(live_server.url + "/")
    page.wait_for_function("window.YZMap !== undefined")
    for lat, lng in ((31.339, 120.424), (39.9087, 116.3975), (22.5431, 114.0579)):
        js = page.evaluate(f"YZMap.wgsToGcj({lat}, {lng})")
        assert js == pytest.approx(list(wgs84_to_gcj02(lat, lng)), abs=1e-9)
        back = page.evaluate(f"YZMap.gcjToWgs({js[0]}, {js[1]})")
        assert back == pytest.approx([lat, lng], abs=1e-7)


def _shot(name: str) -> str:
    import os
    import tempfile

    folder = os.environ.get("YIZHAN_SCREENSHOTS") or os.path.join(tempfile.gettempdir(), "yizhan-shots")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f"stations-{name}.png")
