"""Icons come from one SVG sprite (static/icons.svg), never from an emoji font: station
amenities and report categories showed empty boxes on phones without one (issue 8, 9)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Template

from yizhan.core.templatetags.yz_icons import DEFAULT_SYMBOL, symbol_for
from yizhan.stations.choices import Amenity

SPRITE = Path(settings.BASE_DIR) / "static" / "icons.svg"
CATEGORIES = Path(settings.PACKAGE_DIR) / "reports" / "data" / "categories.json"
EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]")


def _symbols() -> set[str]:
    return set(re.findall(r'<symbol id="([^"]+)"', SPRITE.read_text()))


def _catalogue() -> list[dict]:
    text = CATEGORIES.read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError:  # one object a line
        return [json.loads(line.strip().rstrip(",")) for line in text.splitlines() if line.strip().startswith("{")]


def test_every_amenity_and_every_catalogue_category_has_its_own_symbol():
    symbols = _symbols()
    assert {a.value for a in Amenity} <= symbols
    cats = _catalogue()
    assert len(cats) > 30
    for cat in cats:
        sym = symbol_for(cat)
        assert sym in symbols, (cat["code"], sym)
        assert sym != DEFAULT_SYMBOL, f"{cat['code']} ({cat['icon']}) falls back to the generic pin"
    # by code, by emoji with or without the variation selector, by object
    assert symbol_for("🗑️") == symbol_for("🗑") == "cat-trash"
    assert symbol_for("public_toilet") == "toilet"
    assert symbol_for({"code": "nobody_knows", "icon": "🦄"}) == DEFAULT_SYMBOL


def test_category_icon_tag_renders_the_sprite_not_the_emoji():
    class Cat:
        code, icon = "manhole_cover", "🕳️"

    html = Template("{% load yz_icons %}{% category_icon cat %}{% icon 'toilet' label='卫生间' %}").render(
        Context({"cat": Cat()}))
    assert not EMOJI.search(html)
    assert '<use href="/static/icons.svg#cat-hole"/>' in html
    assert 'role="img" aria-label="卫生间"' in html and "#toilet" in html


@pytest.mark.django_db
def test_report_pages_show_category_symbols_without_emoji(client):
    from yizhan.reports.tests.factories import make_category

    make_category(code="manhole_cover", name="井盖缺失", icon="🕳️")
    make_category(code="exposed_rubbish", name="暴露垃圾", icon="🗑️")
    from yizhan.core.testing.factories import make_user

    client.force_login(make_user())
    html = client.get("/reports/new/").content.decode()
    picker = html[html.index('id="report-form"'):]
    assert "icons.svg#cat-hole" in picker and "icons.svg#cat-trash" in picker
    assert "🕳" not in picker and "🗑" not in picker


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_sprite_icons_draw_on_a_phone_without_an_emoji_font(browser_page_factory, live_server):
    from yizhan.core.testing.factories import make_jurisdiction_tree, make_staff
    from yizhan.stations import services

    tree = make_jurisdiction_tree()
    lat, lng = tree.point(tree.grid)
    services.station_create(actor=make_staff("district_admin", tree.district), data={
        "code": "I-1", "name": "图标驿站", "address": "图标路 1 号", "lat": lat, "lng": lng,
        "jurisdiction": tree.grid.code, "amenities": ["toilet", "wifi", "ebike_charging"],
    })
    page = browser_page_factory()
    page.route(re.compile(r"^https?://(?!127\.0\.0\.1|localhost)"), lambda route: route.abort())
    page.goto(live_server.url + "/stations/I-1/")
    icons = page.locator(".amenities svg.icon")
    assert icons.count() == 3
    for i in range(3):  # the <use> resolved to a drawn symbol: it has a size
        box = icons.nth(i).locator("use").evaluate("u => { const b = u.getBBox(); return [b.width, b.height]; }")
        assert box[0] > 5 and box[1] > 5, box
    assert page.evaluate("document.querySelector('link[rel=icon][type=\"image/svg+xml\"]').href").endswith(
        "/static/favicon.svg")
    resp = page.request.get(live_server.url + "/static/favicon.ico")
    assert resp.status == 200 and resp.body()[:4] == b"\x00\x00\x01\x00"


def test_no_template_draws_with_emoji():
    """Pictographs and dingbats show as empty boxes without an emoji font: templates use
    the sprite. (★ ☆ ⚠ are ordinary symbols every CJK font has.)"""
    pictograph = re.compile("[\U0001F300-\U0001FAFF\u2700-\u27BF]")
    offenders = []
    for path in Path(settings.PACKAGE_DIR).glob("*/templates/**/*.html"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pictograph.search(line):
                offenders.append(f"{path.relative_to(settings.PACKAGE_DIR)}:{n}")
    for path in Path(settings.PACKAGE_DIR).glob("templates/**/*.html"):
        if pictograph.search(path.read_text(encoding="utf-8")):
            offenders.append(str(path.relative_to(settings.PACKAGE_DIR)))
    assert not offenders, offenders
