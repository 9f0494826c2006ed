"""Browser tests of the snap-and-report pages at 360 px (Playwright + Debian chromium):
a rider reports a missing manhole cover with a photo, sees the "already reported?" step,
another rider says "me too"; after the grid worker has handled it the rider confirms and
rates it (by keyboard), and the public map and list show it with its state."""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client
from PIL import Image

from yizhan.core.testing.factories import (
    make_jurisdiction_tree,
    make_staff,
    make_worker,
    unique_phone,
)
from yizhan.reports import services
from yizhan.reports.models import Case, CasePhoto, CaseSupporter, DepartmentMember
from yizhan.reports.tests.factories import make_category, make_department

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
GPS_IFD = 0x8825


def jpeg_with_gps(color=(200, 30, 30)) -> bytes:
    img = Image.new("RGB", (120, 90), color)
    exif = Image.Exif()
    exif[0x010F] = "RiderPhone"
    exif[GPS_IFD] = {1: "N", 2: (31.0, 20.0, 0.0), 3: "E", 4: (120.0, 25.0, 0.0)}
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def world():
    tree = make_jurisdiction_tree()
    make_category(code="manhole_cover", name="井盖缺失", icon="🕳️", kind="component", group="public_facility",
                  group_name="公用设施", is_hazard=True)
    make_category(code="exposed_rubbish", name="暴露垃圾", icon="🗑️")
    dept = make_department(jurisdiction=tree.district, code="urban")
    dispatcher = make_staff("community_admin", tree.community)
    grid_worker = make_staff("grid_worker", tree.grid)
    DepartmentMember.objects.get_or_create(department=dept, user=grid_worker)
    lat, lng = tree.point(tree.grid)
    return tree, dept, dispatcher, grid_worker, lat, lng


def _login_as(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


def _login_by_phone(page, phone):
    from yizhan.accounts.sms import ConsoleSmsBackend

    assert "/accounts/otp/" in page.url
    page.get_by_label(re.compile("手机")).first.fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    page.get_by_text("验证码已发送").wait_for()
    page.get_by_label("验证码").fill(ConsoleSmsBackend.last_code(phone))
    page.get_by_role("button", name="登录", exact=True).click()


def test_rider_reports_with_a_photo_confirms_and_rates_and_the_public_map_shows_it(
        world, browser_page_factory, live_server):
    tree, dept, dispatcher, grid_worker, lat, lng = world
    earlier = services.case_submit(actor=make_worker(), category="manhole_cover", lat=lat + 0.0001, lng=lng,
                                   description="另一处井盖").case

    # ---- a rider reports (logs in by phone on the way)
    phone = unique_phone()
    page = browser_page_factory(geolocation={"latitude": lat, "longitude": lng})
    page.goto(live_server.url + "/reports/new/")
    _login_by_phone(page, phone)
    page.wait_for_url(re.compile(r"/reports/new/$"))
    page.wait_for_function("document.querySelector('[name=lat]').value !== ''")  # the phone's location
    page.locator("label.cat", has_text="井盖缺失").click()
    # the "already reported?" step: the open case of the same category 11 m away, with "me too"
    dup = page.locator("#duplicates .dup-item")
    dup.wait_for()
    assert dup.count() == 1 and dup.get_attribute("data-number") == earlier.number
    assert dup.get_by_role("button", name="我也遇到").is_visible()
    # not the same one: go on with a photo (EXIF GPS inside) and a note
    page.set_input_files("#id_photos", files=[{"name": "cover.jpg", "mimeType": "image/jpeg",
                                              "buffer": jpeg_with_gps()}])
    assert page.locator("#photo-previews li").count() == 1
    page.get_by_label("问题描述（可选）").fill("青山路口井盖没了，晚上骑车很危险")
    assert page.locator("#desc-count").inner_text().startswith("16 /")
    page.screenshot(path=_shot("form"), full_page=True)
    page.get_by_role("button", name="提交上报").click()
    page.wait_for_url(re.compile(r"/reports/c/\d{8}-\d{6}/$"))
    assert "已提交" in page.locator(".messages").inner_text()
    case = Case.objects.exclude(pk=earlier.pk).get()
    assert case.reporter.phone == phone and case.description.startswith("青山路口")
    photo = CasePhoto.objects.get(case=case)
    assert not Image.open(photo.image.path).getexif()  # no GPS, no camera
    page.screenshot(path=_shot("submitted"), full_page=True)

    # ---- a second rider at the same corner: "me too" instead of a second case
    page2 = browser_page_factory(geolocation={"latitude": lat, "longitude": lng})
    second = make_worker()
    _login_as(page2, live_server, second)
    page2.goto(live_server.url + "/reports/new/")
    page2.wait_for_function("document.querySelector('[name=lat]').value !== ''")
    page2.locator("label.cat", has_text="井盖缺失").click()
    mine = page2.locator(f"#duplicates .dup-item[data-number='{case.number}']")
    mine.wait_for()
    mine.get_by_role("button", name="我也遇到").click()
    page2.wait_for_url(re.compile(rf"/reports/c/{case.number}/$"))
    assert CaseSupporter.objects.filter(case=case, user=second).exists()
    assert Case.objects.count() == 2

    # ---- the grid worker handles it (services); the rider confirms
    services.case_accept(actor=dispatcher, case=case)
    services.case_dispatch(actor=dispatcher, case=case, department=dept, assignee=grid_worker)
    services.case_start(actor=grid_worker, case=case)
    from django.core.files.uploadedfile import SimpleUploadedFile

    services.case_handle(actor=grid_worker, case=case, note="已更换新井盖",
                         photos=[SimpleUploadedFile("after.jpg", jpeg_with_gps((30, 200, 30)), "image/jpeg")])
    page.goto(live_server.url + "/reports/mine/")
    page.get_by_text("请确认是否已解决").click()
    page.get_by_role("button", name="已解决，确认").click()
    page.get_by_text("谢谢确认").wait_for()
    case.refresh_from_db()
    assert case.state == "verified"
    assert "已核查" in page.locator("#case-state").inner_text()

    # ---- closed by the community; the rider rates it with the keyboard only
    services.case_close(actor=dispatcher, case=case)
    page.reload()
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "rate-rating":
            break
    else:
        pytest.fail("the rating cannot be reached with Tab")
    page.keyboard.press("Space")
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    assert page.evaluate("document.querySelector('[name=rate-rating]:checked').value") == "5"
    page.keyboard.press("Tab")
    page.keyboard.type("很快就修好了")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.get_by_text("感谢您的评价").wait_for()
    case.refresh_from_db()
    assert case.state == "evaluated" and case.rating == 5 and case.rating_comment == "很快就修好了"
    page.screenshot(path=_shot("rated"), full_page=True)

    # ---- the public map and list show it with its state, without the reporter
    public = browser_page_factory()
    public.goto(live_server.url + "/reports/")
    item = public.locator(f".case-item[data-number='{case.number}']")
    assert "已评价" in item.inner_text()
    public.wait_for_function("document.querySelectorAll('#cases-map .yz-case').length === 2")
    public.get_by_label("状态").select_option("evaluated")
    public.wait_for_function(f"!document.querySelector(\".case-item[data-number='{earlier.number}']\")")
    assert public.locator(".case-item").count() == 1
    public.wait_for_function("document.querySelectorAll('#cases-map .yz-case').length === 1")
    assert "state=evaluated" in public.url
    assert phone not in public.content()
    public.screenshot(path=_shot("public-map"), full_page=True)


def test_report_form_keeps_photos_and_text_after_a_server_error(world, browser_page_factory, live_server):
    tree, dept, dispatcher, grid_worker, lat, lng = world
    page = browser_page_factory()  # no location permission: place picker and typed coordinates
    _login_as(page, live_server, make_worker())
    page.goto(live_server.url + "/reports/new/")
    page.locator("#locate-status").get_by_text("无法获取位置").wait_for()
    for _ in range(40):  # the category grid by keyboard: Tab into the radios, an arrow key to choose
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "category":
            break
    else:
        pytest.fail("the category grid cannot be reached with Tab")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.querySelector('[name=category]:checked').value") == "exposed_rubbish"
    assert page.evaluate("getComputedStyle(document.activeElement.closest('label')).outlineStyle") != "none"
    page.set_input_files("#id_photos", files=[{"name": "a.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}])
    page.get_by_label("问题描述（可选）").fill("路边一堆垃圾")
    page.locator("details.coords summary").click()
    page.get_by_label("纬度").fill("39.9087")  # Beijing: outside every area served
    page.get_by_label("经度").fill("116.3975")
    page.get_by_role("button", name="提交上报").click()
    page.locator("#id_lat-error").wait_for()
    assert "不在" in page.locator("#id_lat-error").inner_text()
    assert page.get_by_label("问题描述（可选）").input_value() == "路边一堆垃圾"
    assert page.evaluate("document.getElementById('id_photos').files.length") == 1
    assert page.locator("#photo-previews li").count() == 1
    assert Case.objects.count() == 0
    page.screenshot(path=_shot("error-kept"), full_page=True)
    # the place picker puts the pin in the community; arrow keys move the focused pin
    page.select_option("#id_place", tree.community.code)
    page.wait_for_function(f"document.querySelector('[name=lat]').value === '{tree.community.center_lat:.6f}'")
    page.locator(".yz-report-pin").focus()
    page.keyboard.press("ArrowUp")
    moved = float(page.input_value("#id_lat"))
    assert moved == pytest.approx(tree.community.center_lat + 0.00005, abs=1e-6)
    # more than 3 photos: the 4th is refused on the phone already
    page.set_input_files("#id_photos_gallery", files=[
        {"name": f"b{i}.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps((i * 40, 0, 0))} for i in range(3)])
    assert page.locator("#photo-previews li").count() == 3
    assert "最多 3 张" in page.locator("#photos-client-error").inner_text()
    page.locator("#photo-previews li").nth(1).get_by_role("button").click()
    page.locator("#photo-previews li").nth(1).get_by_role("button").click()
    assert page.evaluate("document.getElementById('id_photos').files.length") == 1
    assert page.evaluate("document.getElementById('id_photos_gallery').files.length") == 0
    page.get_by_role("button", name="提交上报").click()
    page.wait_for_url(re.compile(r"/reports/c/\d{8}-\d{6}/$"))
    case = Case.objects.get()
    assert case.photos.count() == 1 and case.description == "路边一堆垃圾"
    assert case.lat == pytest.approx(moved, abs=1e-6)


def test_seeded_taxonomy_fits_a_360_px_phone(browser_page_factory, live_server):
    make_jurisdiction_tree()
    services.category_taxonomy_load()
    page = browser_page_factory()
    _login_as(page, live_server, make_worker())
    page.goto(live_server.url + "/reports/new/?category=manhole_cover")
    page.locator("#id_details_cover_type").wait_for()  # the preselected category's extra field
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    tiles = page.locator("label.cat")
    assert tiles.count() > 30
    box = tiles.first.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44  # big enough for a thumb in gloves
    page.screenshot(path=_shot("taxonomy"), full_page=True)
    page.goto(live_server.url + "/reports/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def _shot(name: str) -> str:
    import os
    import tempfile

    folder = os.environ.get("YIZHAN_SCREENSHOTS") or os.path.join(tempfile.gettempdir(), "yizhan-shots")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f"reports-{name}.png")
