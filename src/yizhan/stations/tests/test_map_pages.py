"""Every map page goes through the one map module (stations/map.js, config from
core.maps): the default tile source with its attribution and the outline to draw when
tiles cannot load (issue 8, "what a new user hit" 1)."""

from __future__ import annotations

import json
import os
import re

import pytest

from yizhan.core.testing.factories import make_jurisdiction_tree, make_staff, make_user

pytestmark = pytest.mark.django_db
OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


def _configs(html: str) -> dict:
    return {m.group(1): json.loads(m.group(2)) for m in re.finditer(
        r'<script id="([\w-]*map-config)" type="application/json">(.*?)</script>', html, re.S)}


@pytest.mark.skipif("YIZHAN_TILE_URL" in os.environ, reason="YIZHAN_TILE_URL is set in this environment")
def test_default_tiles_are_openstreetmap_with_attribution(settings):
    from yizhan.config import settings as project  # the defaults (tests switch tiles off)
    from yizhan.core import maps

    assert project.YIZHAN_TILE_URL == OSM
    assert "OpenStreetMap" in project.YIZHAN_TILE_ATTRIBUTION
    settings.YIZHAN_TILE_URL, settings.YIZHAN_TILE_ATTRIBUTION = project.YIZHAN_TILE_URL, project.YIZHAN_TILE_ATTRIBUTION
    tiles = maps.tile_settings()
    assert tiles["url"] == OSM and not tiles["gcj02"] and tiles["outline"] == "/maps/outline.json"
    assert maps.tile_host() == "https://tile.openstreetmap.org"


def test_every_map_page_uses_the_shared_module_and_config(client, settings):
    settings.YIZHAN_TILE_URL = OSM
    settings.YIZHAN_TILE_ATTRIBUTION = "© OpenStreetMap"
    tree = make_jurisdiction_tree()
    district = make_staff("district_admin", tree.district)
    from yizhan.stations import services

    lat, lng = tree.point(tree.grid)
    services.station_create(actor=district, data={"code": "MP-1", "name": "地图页驿站", "address": "路 1 号",
                                                  "lat": lat, "lng": lng, "jurisdiction": tree.grid.code})
    pages = [(None, "/"), (None, "/stations/MP-1/"), (None, "/reports/"), (make_user(), "/reports/new/"),
             (district, f"/manage/coverage/?jurisdiction={tree.district.code}&mode=walk"),
             (district, "/manage/stations/MP-1/edit/")]
    for who, url in pages:
        client.logout()
        if who:
            client.force_login(who)
        html = client.get(url).content.decode()
        assert re.search(r'src="/static/stations/map\.js"', html), url
        configs = _configs(html)
        assert configs, url
        for cfg in configs.values():
            assert cfg["tiles"]["url"] == OSM and cfg["tiles"]["attribution"] == "© OpenStreetMap", url
            assert cfg["tiles"]["outline"] == "/maps/outline.json", url


def test_outline_has_the_boundaries_and_names_and_follows_changes(client):
    tree = make_jurisdiction_tree()
    data = client.get("/maps/outline.json").json()
    by_code = {f["properties"]["code"]: f for f in data["features"]}
    assert {tree.district.code, tree.street.code, tree.community.code} <= set(by_code)
    assert tree.grid.code not in by_code and tree.city.code not in by_code  # grids are internal
    district = by_code[tree.district.code]
    assert district["properties"]["name"] == "高新区" and district["properties"]["level"] == "district"
    assert district["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert district["properties"]["label"] == [round(tree.district.center_lat, 5), round(tree.district.center_lng, 5)]
    from yizhan.jurisdictions.models import Jurisdiction

    Jurisdiction.objects.filter(pk=tree.street.pk).update(name="改名街道")
    Jurisdiction.objects.filter(pk=tree.street.pk).first().save()  # bumps updated_at
    names = {f["properties"]["name"] for f in client.get("/maps/outline.json").json()["features"]}
    assert "改名街道" in names
