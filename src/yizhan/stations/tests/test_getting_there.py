"""A station page says how to get there (issue 8, "what a new user hit" 2): navigate in
Amap, Baidu, Apple Maps or any app (geo:), GCJ-02 where the app needs it; the full street
address; a public number that can be called, while the keeper's own phone stays masked."""

from __future__ import annotations

import html as htmllib
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from yizhan.core.errors import AppError
from yizhan.core.geo import wgs84_to_gcj02
from yizhan.core.testing.factories import (
    make_jurisdiction_tree,
    make_staff,
    make_user,
    unique_phone,
)
from yizhan.stations import services
from yizhan.stations.models import Station

pytestmark = pytest.mark.django_db
ALWAYS_OPEN = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture
def place():
    tree = make_jurisdiction_tree()
    district = make_staff("district_admin", tree.district)
    lat, lng = tree.point(tree.grid)
    station = services.station_create(actor=district, data={
        "code": "NAV-1", "name": "科技城驿站", "address": "科技路 8 号", "public_phone": "0512-6661 2345",
        "lat": lat, "lng": lng, "jurisdiction": tree.grid.code, "hours": ALWAYS_OPEN,
    })
    keeper_phone = unique_phone()
    services.station_keeper_assign(actor=district, station=station,
                                   user=make_user(phone=keeper_phone, display_name="王站长"))
    return tree, district, station, keeper_phone


def _links(body: str) -> dict:
    return {m.group(1): htmllib.unescape(m.group(2))
            for m in re.finditer(r'data-app="(\w+)" href="([^"]+)"', body)}


def test_station_page_has_navigation_full_address_and_a_callable_number(client, place):
    tree, _district, station, keeper_phone = place
    body = client.get(f"/stations/{station.code}/").content.decode()
    assert "苏州市高新区科学城街道科技路 8 号" in body
    assert 'href="tel:051266612345"' in body and "0512-6661 2345" in body
    # the keeper's own number stays masked
    assert keeper_phone not in body and re.sub(r"^(\d{3})\d{4}(\d{4})$", r"\1****\2", keeper_phone) in body

    links = _links(body)
    assert set(links) == {"amap", "baidu", "apple", "geo"}
    glat, glng = wgs84_to_gcj02(station.lat, station.lng)
    assert abs(glat - station.lat) > 1e-4  # in China the shift is real (hundreds of metres)
    amap = parse_qs(urlsplit(links["amap"]).query)
    assert links["amap"].startswith("https://uri.amap.com/navigation?")
    assert amap["to"][0] == f"{glng:.6f},{glat:.6f},科技城驿站" and amap["coordinate"] == ["gaode"]
    baidu = parse_qs(urlsplit(links["baidu"]).query)
    assert baidu["location"] == [f"{station.lat:.6f},{station.lng:.6f}"] and baidu["coord_type"] == ["wgs84"]
    apple = parse_qs(urlsplit(links["apple"]).query)
    assert links["apple"].startswith("https://maps.apple.com/?") and apple["daddr"] == [f"{glat:.6f},{glng:.6f}"]
    assert links["geo"].startswith(f"geo:{station.lat:.6f},{station.lng:.6f}?q=")


def test_public_phone_is_optional_and_cleaned(place):
    tree, district, station, _ = place
    services.station_update(actor=district, station=station, data={"public_phone": "  12345 "})
    station.refresh_from_db()
    assert station.public_phone == "12345"
    services.station_update(actor=district, station=station, data={"public_phone": ""})
    station.refresh_from_db()
    assert station.public_phone == ""


@pytest.mark.parametrize("bad", ["abc", "110", "0512-6661-2345-9999-0000-1111", "+86 ()", "tel:12345",
                                 "0512\u202e5432"])
def test_bad_public_phone_is_refused_and_nothing_is_written(place, bad):
    tree, district, station, _ = place
    with pytest.raises(AppError) as err:
        services.station_update(actor=district, station=station, data={"public_phone": bad})
    shape = err.value.as_dict()
    assert shape["code"] == "invalid_phone" and shape["field"] == "public_phone"
    assert shape["message"]["zh"] and shape["message"]["en"]
    assert err.value.status in (400, 422)
    station.refresh_from_db()
    assert station.public_phone == "0512-6661 2345"
    with pytest.raises(AppError):
        services.station_create(actor=district, data={
            "code": "NAV-BAD", "name": "坏电话", "address": "路 1 号", "public_phone": bad,
            "lat": station.lat, "lng": station.lng, "jurisdiction": tree.grid.code})
    assert not Station.objects.filter(code="NAV-BAD").exists()


def test_admin_form_keeps_a_bad_number_beside_the_field(client, place):
    tree, district, station, _ = place
    client.force_login(district)
    page = client.get(f"/manage/stations/{station.code}/edit/").content.decode()
    assert 'name="public_phone"' in page and 'value="0512-6661 2345"' in page
    data = {
        "code": station.code, "name": station.name, "type": "station", "host_type": "community",
        "address": station.address, "public_phone": "打电话", "lat": str(station.lat), "lng": str(station.lng),
        "jurisdiction": tree.grid.code, "hub": "", "status": "open", "status_reason": "", "keeper_phones": "",
    }
    resp = client.post(f"/manage/stations/{station.code}/edit/", data)
    assert resp.status_code == 400
    body = resp.content.decode()
    assert 'value="打电话"' in body and "联系电话" in body
    station.refresh_from_db()
    assert station.public_phone == "0512-6661 2345"
    resp = client.post(f"/manage/stations/{station.code}/edit/", {**data, "public_phone": "0512-66610000"})
    assert resp.status_code == 302
    station.refresh_from_db()
    assert station.public_phone == "0512-66610000"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_navigate_buttons_fit_a_phone(place, browser_page_factory, live_server):
    station = place[2]
    page = browser_page_factory()
    page.goto(live_server.url + f"/stations/{station.code}/")
    nav = page.get_by_role("navigation", name="导航到这里")
    for name in ("高德地图导航", "百度地图", "Apple 地图", "其他地图应用"):
        link = nav.get_by_role("link", name=name)
        assert link.is_visible()
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360 and box["height"] >= 40
    assert page.get_by_role("link", name=re.compile("0512-6661 2345")).get_attribute("href") == "tel:051266612345"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
