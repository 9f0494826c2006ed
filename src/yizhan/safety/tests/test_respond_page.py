"""The responder's phone page at 360 px (Playwright + Debian chromium): the alarm, the
place, the way there, and the four steps 接警 → 出发 → 到场 → 处置 pressed in a real
browser with the phone's position; an arrival from too far is refused on the page and
the manual position fallback works."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from yizhan.safety.choices import AlarmKind
from yizhan.safety.models import Assignment, Dispatch
from yizhan.safety.services import dispatch as svc
from yizhan.safety.tests.dispatch_kit import make_alarm

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login_as(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


@pytest.fixture
def call(safety_tree):
    st = safety_tree
    alarm = make_alarm(st.smoke, kind=AlarmKind.FIRE)
    d = svc.dispatch_start(alarm=alarm)
    a = Assignment.objects.get(dispatch=d, responder__user=st.grid_worker)
    return st, d, a


def _no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_four_steps_at_360_px(call, browser_page_factory, live_server):
    st, d, a = call
    h = st.rental_house
    page = browser_page_factory(geolocation={"latitude": h.lat + 0.0008, "longitude": h.lng + 0.0003})
    _login_as(page, live_server, st.grid_worker)
    page.goto(live_server.url + "/safety/respond/")
    assert page.locator("[data-on-duty='1']").count() == 1
    task = page.locator(f"[data-assignment='{a.pk}'] a")
    assert "东渚出租房1" in task.inner_text()
    _no_sideways_scroll(page)
    task.click()
    page.wait_for_url(re.compile(rf"/safety/respond/{a.pk}/$"))
    assert "东渚出租房1" in page.locator("h1").inner_text() and "火警" in page.locator("h1").inner_text()
    assert h.address in page.locator(".address").inner_text()
    # the phone's position gives the way there in words (no map tiles needed)
    page.locator("[data-way-text]").filter(has_text="方向").wait_for()
    assert "米" in page.locator("[data-way-text]").inner_text()
    assert page.locator("[data-lat]").input_value() != ""
    _no_sideways_scroll(page)

    # 接警 by keyboard
    page.get_by_role("button", name="接警").focus()
    page.keyboard.press("Enter")
    page.locator("[data-assignment-state='acknowledged']").wait_for()
    assert page.get_by_role("button", name="接警").is_disabled()
    page.locator("[data-way-text]").filter(has_text="方向").wait_for()
    page.get_by_role("button", name="出发").click()
    page.locator("[data-assignment-state='en_route']").wait_for()
    page.locator("[data-way-text]").filter(has_text="方向").wait_for()
    page.get_by_role("button", name="到场").click()
    page.locator("[data-assignment-state='arrived']").wait_for()
    _no_sideways_scroll(page)
    page.get_by_label("误报").check()
    page.get_by_label("说明").fill("厨房油烟触发")
    page.get_by_role("button", name="处置").click()
    page.locator("[data-assignment-state='resolved']").wait_for()
    assert "已处置" in page.locator(".status-line").inner_text()
    d.refresh_from_db()
    a.refresh_from_db()
    assert d.state == "resolved" and d.outcome == "false_alarm" and d.outcome_note == "厨房油烟触发"
    assert a.acknowledged_at < a.en_route_at < a.arrived_at < a.resolved_at
    assert a.arrived_distance_m <= svc.ARRIVAL_RADIUS_M


def test_too_far_is_refused_and_the_manual_position_works(call, browser_page_factory, live_server):
    st, d, a = call
    h = st.rental_house
    page = browser_page_factory(geolocation={"latitude": h.lat + 0.01, "longitude": h.lng})  # ≈ 1.1 km away
    _login_as(page, live_server, st.grid_worker)
    page.goto(live_server.url + f"/safety/respond/{a.pk}/")
    page.locator("[data-way-text]").filter(has_text="方向").wait_for()
    page.get_by_role("button", name="到场").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "太远" in alert.inner_text() or "米" in alert.inner_text()
    a.refresh_from_db()
    assert a.state == "notified"
    # the GPS is wrong indoors: type the position by hand
    page.locator("summary", has_text="手动输入位置").click()
    page.get_by_label("纬度").fill(f"{h.lat:.6f}")
    page.get_by_label("经度").fill(f"{h.lng:.6f}")
    page.get_by_role("button", name="到场").click()
    page.locator("[data-assignment-state='arrived']").wait_for()
    assert Dispatch.objects.get(pk=d.pk).state == "on_scene"
