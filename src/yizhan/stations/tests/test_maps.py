"""Maps at 360 px (Playwright + Debian chromium): tiles by default, and when they cannot
load the jurisdiction boundaries with their names and a scale bar; the finder never
opens empty when the location is refused (issue 8, "what a new user hit" 1 and 3).
Waits go through locators, not wait_for_function: the Content-Security-Policy forbids the
eval that Playwright's polling uses."""

from __future__ import annotations

import base64
import json
import re

import pytest

from yizhan.core.testing.factories import make_jurisdiction_tree, make_staff
from yizhan.stations import services

expect = pytest.importorskip("playwright.sync_api").expect  # every test here drives a browser
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALWAYS_OPEN = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
PNG = base64.b64decode(  # 1 × 1 grey pixel
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==")


@pytest.fixture
def area(settings):
    settings.YIZHAN_TILE_URL = OSM
    tree = make_jurisdiction_tree()
    district = make_staff("district_admin", tree.district)
    return tree, district


def _station(district, tree, code, name, lat, lng, node=None):
    station = services.station_create(actor=district, data={
        "code": code, "name": name, "address": f"{name}路 1 号", "lat": lat, "lng": lng,
        "jurisdiction": (node or tree.grid).code, "hours": ALWAYS_OPEN, "amenities": ["toilet"],
    })
    from yizhan.stations import nearby

    nearby.nearby_index_invalidate()
    return station


def _tiles_blocked(page) -> list[str]:
    """No internet in the tests: every tile request fails, as it would offline."""
    asked: list[str] = []

    def abort(route):
        asked.append(route.request.url)
        route.abort("internetdisconnected")

    page.route(re.compile(r"^https://tile\.openstreetmap\.org/"), abort)
    return asked


def test_station_map_without_tiles_draws_boundaries_names_and_a_scale_bar(area, browser_page_factory,
                                                                         live_server):
    tree, district = area
    lat, lng = tree.point(tree.grid)
    _station(district, tree, "M-1", "地图驿站", lat, lng)
    page = browser_page_factory()
    asked = _tiles_blocked(page)
    page.goto(live_server.url + "/stations/M-1/")
    page.wait_for_selector("#map[data-outline]")
    assert asked, "the map should have asked the default (OpenStreetMap) tile server"
    assert page.get_attribute("#map", "data-tiles") == "off"
    # zoom 16 on a station: the community names show, and its boundary is drawn
    labels = page.locator("#map .yz-label").all_inner_texts()
    assert "东渚社区" in labels, labels
    assert page.locator("#map path.leaflet-interactive, #map svg path").count() >= 3
    scale = page.locator("#map .leaflet-control-scale-line")
    assert scale.is_visible() and re.fullmatch(r"\d+ k?m", scale.inner_text().strip())
    assert "OpenStreetMap" in page.locator("#map .leaflet-control-attribution").inner_text()
    assert page.locator("#map .yz-pin").count() == 1
    # zoomed past every name, a box still says where the map is
    where = page.locator("#map .yz-where").inner_text()
    assert "东渚社区" in where and "科学城街道" in where and "高新区" in where
    # zoomed out, the street and district names take over
    for _ in range(5):
        page.locator("#map .leaflet-control-zoom-out").click()
        page.wait_for_timeout(400)  # a click during the zoom animation is ignored
    page.locator("#map .yz-label", has_text="高新区").first.wait_for()


def test_tiles_that_load_replace_the_outline(area, browser_page_factory, live_server):
    tree, district = area
    lat, lng = tree.point(tree.grid)
    _station(district, tree, "M-2", "有底图的驿站", lat, lng)
    page = browser_page_factory()
    page.route(re.compile(r"^https://tile\.openstreetmap\.org/"),
               lambda route: route.fulfill(status=200, content_type="image/png", body=PNG))
    page.goto(live_server.url + "/stations/M-2/")
    page.wait_for_selector("#map[data-tiles='ok']")
    assert page.locator("#map img.leaflet-tile").count() > 0
    assert page.locator("#map .yz-label").count() == 0
    assert page.locator("#map .leaflet-control-scale-line").is_visible()


def test_no_tile_source_configured_still_shows_where_things_are(area, settings, browser_page_factory,
                                                                live_server):
    settings.YIZHAN_TILE_URL = ""
    page = browser_page_factory()
    page.goto(live_server.url + "/?place=" + area[0].community.code)
    page.wait_for_selector("#map[data-outline]")
    assert page.get_attribute("#map", "data-tiles") == "off"
    assert page.locator("#map img.leaflet-tile").count() == 0
    assert page.locator("#map .yz-label").count() > 0


def test_location_refused_shows_stations_around_the_district_centre(area, browser_page_factory, live_server):
    tree, district = area
    clat, clng = tree.district.center_lat, tree.district.center_lng
    _station(district, tree, "M-C", "区中心驿站", clat + 0.001, clng - 0.001, node=tree.community)
    page = browser_page_factory()  # no geolocation permission: the browser refuses
    page.goto(live_server.url + "/")
    page.locator(".station-item").first.wait_for()
    assert "区中心驿站" in page.locator(".station-item").first.inner_text()
    notice = page.locator("#locate-status").inner_text()
    assert "无法获取位置" in notice and "高新区" in notice
    assert page.locator("#map .yz-pin").count() >= 1


def test_location_refused_uses_the_last_chosen_place(area, browser_page_factory, live_server):
    tree, district = area
    clat, clng = tree.district.center_lat, tree.district.center_lng
    _station(district, tree, "M-C2", "区中心驿站", clat + 0.001, clng - 0.001, node=tree.community)
    far_lat, far_lng = tree.point(tree.far_community)
    _station(make_staff("district_admin", tree.other_district), tree, "M-FAR", "洪庄驿站", far_lat, far_lng,
             node=tree.far_grid)
    page = browser_page_factory()
    page.goto(live_server.url + "/")
    page.locator(".station-item").first.wait_for()
    page.select_option("#id_place", tree.far_community.code)  # the worker picks a place once
    expect(page.locator(".station-item").first).to_have_attribute("data-code", "M-FAR")
    stored = json.loads(page.evaluate("localStorage.getItem('yizhan.finder.place')"))
    assert stored == {"place": tree.far_community.code}

    page.goto(live_server.url + "/")  # next visit, location still refused
    expect(page.locator(".station-item").first).to_have_attribute("data-code", "M-FAR")
    assert "上次选择" in page.locator("#locate-status").inner_text()
    assert page.locator("#id_place").input_value() == tree.far_community.code
