"""Issue 8 (what a new user hit, 8): reporting. The photo comes first; the categories
people report most come first, and a search box filters them; every required extra
field is checked with the rest of the form, its message beside it and what was typed
kept; the reporter sees the handler's (approved) after-photo before confirming a fix."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from yizhan.reports import services
from yizhan.reports.models import Case, CasePhoto
from yizhan.reports.tests import test_public_views as pv
from yizhan.reports.tests.factories import make_category
from yizhan.reports.tests.test_public_views import drive, form_data, submit, text, upload

world = pv.world  # the same fixtures
media = pv.media

pytestmark = pytest.mark.django_db


def test_the_photo_comes_before_the_categories(client, world):
    client.force_login(world.rider)
    body = text(client.get("/reports/new/"))
    assert body.index('id="step-photos"') < body.index('id="step-category"') < body.index('id="step-location"')
    assert 'id="cat-search"' in body  # shown by report.js (hidden without script)


def test_the_most_reported_categories_come_first(client, world):
    extra = [make_category(f"more_{i}", name=f"其他问题{i}") for i in range(6)]
    for _ in range(3):
        submit(world, category=extra[4].code)
    submit(world, category=world.rubbish.code)
    client.force_login(world.rider)
    body = text(client.get("/reports/new/"))
    common = body[body.index('cat-common'):body.index("</fieldset>", body.index('cat-common'))]
    codes = re.findall(r'name="category" value="([a-z0-9_]+)"', common)
    assert codes[:2] == [extra[4].code, world.rubbish.code]
    assert world.cover.code in codes  # topped up with the hazards
    # each category once, with the words the search matches
    assert body.count(f'value="{extra[4].code}"') == 1
    assert 'data-search="' in common and "井盖" in common


def test_a_required_extra_field_is_checked_with_the_rest_and_keeps_what_was_typed(client, world):
    client.force_login(world.rider)
    data = form_data(world, category="fire_exit_blocked", lat="abc", address="三号楼")
    resp = client.post("/reports/new/", data)
    body = text(resp)
    assert resp.status_code == 400
    # the floor is asked for beside its field even though the latitude is wrong too
    assert 'id="id_details_floor"' in body and 'id="id_details_floor-error"' in body
    assert 'id="id_lat-error"' in body and 'value="三号楼"' in body
    assert Case.objects.count() == 0
    data = form_data(world, category="fire_exit_blocked", **{"details.floor": "5"})
    resp = client.post("/reports/new/", {**data, "photos": [upload()]})
    assert resp.status_code == 302 and Case.objects.get().details == {"floor": "5"}


def test_the_reporter_sees_the_after_photo_before_confirming(client, world):
    case = drive(world, submit(world), "handled")
    client.force_login(world.rider)
    body = text(client.get(f"/reports/c/{case.number}/"))
    asked = body[body.index('id="reporter-actions"'):body.index("</section>", body.index('id="reporter-actions"'))]
    assert 'id="after-photos-none"' in asked  # not approved yet: said so
    after = CasePhoto.objects.get(case=case, stage="after")
    services.case_photo_approve(actor=world.dispatcher, photo=after)
    body = text(client.get(f"/reports/c/{case.number}/"))
    asked = body[body.index('id="reporter-actions"'):body.index("</section>", body.index('id="reporter-actions"'))]
    after.refresh_from_db()
    assert 'id="after-photos"' in asked and after.public_image.url in asked
    assert asked.index(after.public_image.url) < asked.index("已解决，确认")
    assert after.approved_at <= timezone.now()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_search_the_categories_by_keyboard_at_360_px(browser_page_factory, live_server):
    from yizhan.core.testing.factories import make_jurisdiction_tree, make_worker
    from yizhan.reports.tests.test_public_pages import _login_as

    make_jurisdiction_tree()
    services.category_taxonomy_load()
    page = browser_page_factory()
    _login_as(page, live_server, make_worker())
    page.goto(live_server.url + "/reports/new/")
    photos, cats = page.locator("#step-photos"), page.locator("#step-category")
    assert photos.bounding_box()["y"] < cats.bounding_box()["y"]  # the photo first
    assert page.locator("fieldset.cat-common label.cat").count() == 6  # the common ones first
    search = page.locator("#cat-search")
    search.focus()
    page.keyboard.type("井盖")
    shown = page.locator("label.cat:visible")
    assert 1 <= shown.count() < 5 and all("井盖" in t for t in shown.all_inner_texts())
    page.keyboard.press("Enter")  # picks the match, does not submit
    page.locator("#id_details_cover_type").wait_for()
    assert page.evaluate("document.querySelector('[name=category]:checked').value") == "manhole_cover"
    assert "/reports/new/" in page.url and Case.objects.count() == 0
    search.fill("zzzz")
    assert page.locator("label.cat:visible").count() == 0
    assert "没有匹配" in page.locator("#cat-search-status").inner_text()
    search.fill("")
    assert page.locator("label.cat:visible").count() > 30
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
