"""The 331 inspection form on a 360 px phone, by keyboard: pick the place, tick the
four items with Space, add a room, submit; the failed check gets its deadline."""

from __future__ import annotations

import re

import pytest

from yizhan.core.testing.factories import DEFAULT_PASSWORD
from yizhan.safety.models import Inspection

# what sticks out past the phone's right edge, for the failure message
WIDE = ("Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > 360.01)"
        ".slice(0, 8).map(e => e.tagName + '#' + (e.id || '') + '.' + e.className)")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_inspection_form_at_360px_by_keyboard(browser_page_factory, live_server, safety_tree):
    st = safety_tree
    page = browser_page_factory()
    page.goto(live_server.url + "/accounts/login/?next=/safety/inspections/new/")
    page.get_by_label(re.compile("用户名")).fill(st.grid_worker.username)
    page.get_by_label(re.compile("密码")).fill(DEFAULT_PASSWORD)
    page.get_by_label(re.compile("密码")).press("Enter")
    page.wait_for_url(re.compile(r"/safety/inspections/new/$"))
    page.get_by_label("检查场所").select_option("T-RH-1")  # first the place, then its 12 rooms
    page.get_by_role("button", name="开始检查").press("Enter")
    page.wait_for_url(re.compile(r"place=T-RH-1"))
    assert page.locator("[data-room]").count() == 12
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # the toggles are big enough for a thumb
    box = page.locator("label[for='room-0-extinguisher']").bounding_box()
    assert box and box["height"] >= 44
    page.locator("#room-0").fill("101")
    page.locator("#room-0-extinguisher").focus()
    for key in ("Space", "Tab", "Space", "Tab", "Space", "Tab", "Space"):  # all four of room 101
        page.keyboard.press(key)
    assert page.locator("#room-0-emergency_light").is_checked()
    page.locator("#room-1").fill("102")
    page.locator("#room-1-extinguisher").focus()
    page.keyboard.press("Space")  # 102 has only an extinguisher
    page.get_by_role("button", name="再加一间房").click()  # JS adds a row without a reload
    page.locator("#room-12").wait_for()
    assert page.evaluate("document.activeElement.id") == "room-12"
    page.locator("#room-12").fill("103")
    page.locator("#f-flying").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="提交检查").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/safety/inspections/\d+/$"))
    assert "不合格" in page.locator("main").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    ins = Inspection.objects.get()
    assert [r["room"] for r in ins.rooms] == ["101", "102", "103"]
    assert ins.rooms[0]["emergency_light"] and not ins.rooms[1]["smoke_mask"]
    assert ins.flying_wire_charging and ins.state == "rectifying" and ins.follow_up_due
    # the other pages of the part fit the phone too (tables scroll inside their box)
    for path in ("/safety/inspections/", "/safety/places/", f"/safety/places/{st.rental_house.pk}/",
                 "/safety/devices/", f"/safety/devices/{st.transmitter.pk}/"):
        page.goto(live_server.url + path)
        if page.evaluate("document.documentElement.scrollWidth") > 360:
            wide = page.evaluate(WIDE)
            pytest.fail(f"{path} scrolls sideways: {wide}")
