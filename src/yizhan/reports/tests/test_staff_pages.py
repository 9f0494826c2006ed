"""Browser tests of the staff pages (Playwright + Debian chromium): the grid worker on a
360 px phone signs for a case and handles it with an after-photo; the dispatcher on a
1280 px desktop filters the queue, dispatches two cases at once and publishes a photo
with one face blurred."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from yizhan.core.testing.factories import (
    DEFAULT_PASSWORD,
    make_jurisdiction_tree,
    make_staff,
    make_worker,
)
from yizhan.reports import services
from yizhan.reports.models import Case
from yizhan.reports.tests.factories import make_category, make_department, make_grid_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DESKTOP = {"width": 1280, "height": 900}


def _jpeg_bytes(size=(320, 240), color="green") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def _shot(name: str) -> str:
    import os
    import tempfile

    folder = os.environ.get("YIZHAN_SCREENSHOTS") or os.path.join(tempfile.gettempdir(), "yizhan-shots")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f"reports-staff-{name}.png")


@pytest.fixture
def world(settings, tmp_path):
    from types import SimpleNamespace

    from yizhan.reports.routing import routing_index_invalidate

    settings.MEDIA_ROOT = str(tmp_path)
    tree = make_jurisdiction_tree()
    admin = make_staff("community_admin", tree.community, username="dispatcher_a", display_name="东渚派单员")
    gw = make_grid_worker(tree.grid, username="gridworker_a", display_name="张网格")
    dept = make_department(jurisdiction=tree.district, code="urban", name="城市管理局")
    cat = make_category("rubbish_exposed", name="暴露垃圾")
    cat2 = make_category("sign_askew", name="路牌歪斜")
    reporter = make_worker()
    routing_index_invalidate()
    lat, lng = tree.point(tree.grid)
    return SimpleNamespace(tree=tree, admin=admin, gw=gw, dept=dept, cat=cat, cat2=cat2, reporter=reporter,
                           lat=lat, lng=lng)


def _submit(w, *, cat=None, dlat=0.0, description="路边垃圾堆了三天", photos=()) -> Case:
    return services.case_submit(actor=w.reporter, category=(cat or w.cat).code, lat=w.lat + dlat, lng=w.lng,
                                description=description, photos=photos).case


def _login(page, base, username, next_url):
    page.goto(base + next_url)
    assert "/accounts/login/" in page.url
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(re.escape(next_url) + "$"))


def test_grid_worker_starts_and_handles_a_case_with_an_after_photo(world, browser_page_factory, live_server,
                                                                      tmp_path):
    w = world
    case = _submit(w)
    services.case_accept(actor=w.admin, case=case)
    services.case_dispatch(actor=w.admin, case=Case.objects.get(pk=case.pk), department=w.dept, assignee=w.gw,
                           note="请今天处理")

    page = browser_page_factory()
    _login(page, live_server.url, "gridworker_a", "/work/")
    item = page.locator(f".case-item[data-number='{case.number}']")
    assert "暴露垃圾" in item.inner_text() and re.search(r"剩 .*(小时|分钟)", item.inner_text())
    # the map view shows the case as a pin; back to the list
    page.get_by_role("link", name="地图").click()
    page.locator("#work-map .yz-pin").first.wait_for()
    assert page.locator("#work-map .yz-pin").count() == 1
    page.get_by_role("link", name="列表").click()
    assert page.locator("#work-map").is_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=_shot("inbox"), full_page=True)

    item.locator("a").click()
    page.wait_for_url(re.compile(rf"/work/c/{case.number}/$"))
    assert "请今天处理" in page.locator(".timeline").inner_text()
    start = page.locator("#act-start")
    assert start.get_attribute("open") is not None  # the first action is open
    start.get_by_role("button", name="签收").click()
    page.wait_for_selector("#case-main[data-state='in_progress']")
    assert "已办理：签收" in page.locator("#case-main").inner_text()

    handle = page.locator("#act-handle")
    if handle.get_attribute("open") is None:
        handle.locator("summary").click()
    handle.get_by_label(re.compile("^内部备注")).fill("已清运完毕")
    handle.get_by_role("button", name="处置完毕").click()
    # no photo: the message beside the field, the note kept, nothing changed
    page.locator("#id_handle-photos-error").wait_for()
    assert "处置后照片" in page.locator("#id_handle-photos-error").inner_text()
    assert page.locator("#id_handle-note").input_value() == "已清运完毕"
    assert Case.objects.get(pk=case.pk).state == "in_progress"

    photo = tmp_path / "after.jpg"
    photo.write_bytes(_jpeg_bytes())
    page.locator("#act-handle input[type=file]").set_input_files(str(photo))
    page.locator("#act-handle").get_by_role("button", name="处置完毕").click()
    page.wait_for_selector("#case-main[data-state='handled']")
    done = Case.objects.get(pk=case.pk)
    assert done.state == "handled" and done.photos.filter(stage="after").count() == 1
    timeline = page.locator(".timeline").inner_text()
    assert "处置完毕" in timeline and "已清运完毕" in timeline and "张网格" in timeline
    page.locator(".timeline img").first.wait_for()
    assert page.evaluate("document.querySelector('.timeline img').naturalWidth") > 0
    assert page.locator("#no-actions").is_visible()  # handled: nothing left for the grid worker
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=_shot("handled"), full_page=True)


def test_dispatcher_filters_bulk_dispatches_and_publishes_a_redacted_photo(world, browser_page_factory,
                                                                           live_server):
    w = world
    a1 = _submit(w, dlat=0.001)
    a2 = _submit(w, dlat=0.002, description="垃圾桶满溢")
    for c in (a1, a2):
        services.case_accept(actor=w.admin, case=c)
    photo_case = _submit(w, cat=w.cat2, dlat=0.003, description="路牌被风吹歪，旁边有车牌",
                         photos=[SimpleUploadedFile("p.jpg", _jpeg_bytes((400, 300), "blue"), "image/jpeg")])

    page = browser_page_factory(viewport=DESKTOP)
    _login(page, live_server.url, "dispatcher_a", "/dispatch/")
    rows = page.locator("#queue tbody tr[data-number]")
    assert rows.count() == 3
    # filter by category: the queue is swapped in place
    page.get_by_label("类别").select_option(w.cat.code)
    page.wait_for_function("document.querySelectorAll('#queue tbody tr[data-number]').length === 2")
    assert photo_case.number not in page.locator("#queue").inner_text()
    assert "category=" + w.cat.code in page.url

    page.get_by_label(f"选择 {a1.number}").check()
    page.get_by_label(f"选择 {a2.number}").check()
    assert "已选 2 件" in page.locator("#bulk-count").inner_text()
    page.get_by_label("派遣部门").select_option(str(w.dept.pk))
    page.get_by_label("派遣说明").fill("请今天处理")
    page.get_by_role("button", name="派遣所选案件").click()
    page.get_by_text("已派遣 2 件案件").wait_for()
    assert {c.state for c in Case.objects.filter(pk__in=[a1.pk, a2.pk])} == {"dispatched"}
    assert "category=" + w.cat.code in page.url  # the filter is kept
    page.screenshot(path=_shot("queue"), full_page=True)
    page.get_by_label("搜索").fill("满溢")  # typing filters after a pause, no Enter needed
    page.wait_for_function("document.querySelectorAll('#queue tbody tr[data-number]').length === 1")
    assert a2.number in page.locator("#queue").inner_text()

    page.goto(live_server.url + f"/dispatch/c/{photo_case.number}/")
    box = page.locator(".redact").first
    page.wait_for_function("document.querySelector('.redact img').naturalWidth > 0")
    box.scroll_into_view_if_needed()
    bb = box.bounding_box()
    page.mouse.move(bb["x"] + bb["width"] * 0.25, bb["y"] + bb["height"] * 0.25)
    page.mouse.down()
    page.mouse.move(bb["x"] + bb["width"] * 0.4, bb["y"] + bb["height"] * 0.4, steps=5)
    page.mouse.move(bb["x"] + bb["width"] * 0.5, bb["y"] + bb["height"] * 0.5, steps=5)
    page.mouse.up()
    assert page.locator(".redact-rects .rect").count() == 1
    page.screenshot(path=_shot("redact"), full_page=True)
    page.get_by_role("button", name="打码并公开").click()
    page.get_by_text("照片已公开（遮挡 1 处）").wait_for()
    photo = photo_case.photos.get()
    assert photo.approved_at is not None and photo.public_image
    assert len(photo.redactions) == 1
    x, y, rw, rh = photo.redactions[0]
    assert x == pytest.approx(0.25, abs=0.03) and y == pytest.approx(0.25, abs=0.03)
    assert rw == pytest.approx(0.25, abs=0.03) and rh == pytest.approx(0.25, abs=0.03)
    page.screenshot(path=_shot("console-case"), full_page=True)


def test_redaction_works_by_keyboard(world, browser_page_factory, live_server):
    w = world
    case = _submit(w, photos=[SimpleUploadedFile("p.jpg", _jpeg_bytes((300, 300)), "image/jpeg")])
    page = browser_page_factory(viewport=DESKTOP)
    _login(page, live_server.url, "dispatcher_a", f"/dispatch/c/{case.number}/")
    for _ in range(200):  # Tab to the first cell of the grid
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "cell":
            break
    else:
        pytest.fail("the redaction grid cannot be reached with Tab")
    assert page.evaluate("document.activeElement.value") == "0,0"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.value") == "1,1"
    page.keyboard.press("Space")
    assert "将模糊 1 处" in page.locator(".redact-count").inner_text()
    page.keyboard.press("Tab")  # one tab stop for the grid: on to the publish button
    assert page.evaluate("document.activeElement.textContent").strip() == "打码并公开"
    page.keyboard.press("Enter")
    page.get_by_text("照片已公开（遮挡 1 处）").wait_for()
    assert case.photos.get().redactions == [[0.125, 0.125, 0.125, 0.125]]


def test_console_is_usable_at_360_px(world, browser_page_factory, live_server):
    w = world
    case = _submit(w)
    page = browser_page_factory()
    _login(page, live_server.url, "dispatcher_a", "/dispatch/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # the table scrolls in its box
    page.screenshot(path=_shot("queue-phone"), full_page=True)
    page.locator(f"#queue tr[data-number='{case.number}'] a").click()
    page.wait_for_url(re.compile(rf"/dispatch/c/{case.number}/$"))
    page.locator("#act-accept").get_by_role("button", name="立案").click()
    page.wait_for_selector("#case-main[data-state='accepted']")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=_shot("console-phone"), full_page=True)


def test_grid_worker_signs_for_a_case_by_keyboard(world, browser_page_factory, live_server):
    w = world
    case = _submit(w)
    services.case_accept(actor=w.admin, case=case)
    services.case_dispatch(actor=w.admin, case=Case.objects.get(pk=case.pk), department=w.dept, assignee=w.gw)
    page = browser_page_factory()
    _login(page, live_server.url, "gridworker_a", "/work/")

    def tab_to(check: str, what: str):
        for _ in range(60):
            page.keyboard.press("Tab")
            if page.evaluate(check):
                return
        pytest.fail(f"{what} cannot be reached with Tab")

    tab_to(f"(document.activeElement.getAttribute('href') || '').endsWith('/work/c/{case.number}/')", "the case")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/work/c/{case.number}/$"))
    tab_to("document.activeElement.textContent.trim() === '签收' && document.activeElement.tagName === 'BUTTON'",
           "the 签收 button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#case-main[data-state='in_progress']")
    assert Case.objects.get(pk=case.pk).state == "in_progress"
