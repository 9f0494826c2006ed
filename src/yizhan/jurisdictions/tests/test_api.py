import json

from yizhan.core.testing.factories import make_staff, make_worker, square
from yizhan.core.testing.matrix import assert_error
from yizhan.jurisdictions.models import Jurisdiction

API = "/api/v1/jurisdictions"


def test_public_tree_names_only(client, tree):
    body = client.get(f"{API}/").json()
    assert body["count"] == 13 and body["scoped"] is False
    assert set(body["items"][0]) == {"code", "name", "name_en", "level", "parent", "depth"}
    assert client.get(f"{API}/?root={tree.community.code}").json()["count"] == 3
    assert_error(client.get(f"{API}/?root=NOPE"), 400, "unknown_jurisdiction", "root")  # merged: was 404 jurisdiction_not_found


def test_staff_tree_scoped(client, tree):
    client.force_login(make_staff("community_admin", tree.community))
    body = client.get(f"{API}/?boundary=true").json()
    assert body["scoped"] is True
    assert {i["code"] for i in body["items"]} == {"SZ-GX-KX-A", "SZ-GX-KX-A-1", "SZ-GX-KX-A-2"}
    assert body["items"][0]["boundary"]["type"] == "Polygon"
    # Another community's admin sees their own subtree only.
    client.force_login(make_staff("community_admin", tree.other_community))
    codes = {i["code"] for i in client.get(f"{API}/").json()["items"]}
    assert "SZ-GX-KX-A" not in codes and "SZ-GX-KX-B" in codes


def test_locate_api(client, tree):
    lat, lng = tree.point(tree.grids[3])
    body = client.get(f"{API}/locate?lat={lat}&lng={lng}").json()
    assert [i["code"] for i in body["items"]] == ["SZ-GX-KX-B-2", "SZ-GX-KX-B", "SZ-GX-KX", "SZ-GX", "SZ"]
    assert body["items"][0]["parent"] == "SZ-GX-KX-B"
    assert client.get(f"{API}/locate?lat=39.9&lng=116.4").json() == {"items": [], "count": 0}
    assert_error(client.get(f"{API}/locate?lat=95&lng=120"), 400, "invalid_coordinates", "lat")
    assert_error(client.get(f"{API}/locate?lat=31"), 400, "invalid_coordinates")
    assert_error(client.get(f"{API}/locate?lat=abc&lng=1"), 400, "invalid", "lat")


def test_import_api(client, tree):
    fc = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": square(120.36, 31.31, 120.37, 31.32),
        "properties": {"code": "SZ-GX-KX-A-9", "name": "新网格", "level": "grid", "parent": "SZ-GX-KX-A"}}]}

    def upload():
        from django.core.files.uploadedfile import SimpleUploadedFile

        return {"file": SimpleUploadedFile("j.geojson", json.dumps(fc).encode(), "application/geo+json")}

    url = f"{API}/import"
    for user, status in ((None, 401), (make_worker(), 403), (make_staff("community_admin", tree.community), 403)):
        client.logout()
        if user:
            client.force_login(user)
        assert_error(client.post(url, upload()), status)
    assert not Jurisdiction.objects.filter(code="SZ-GX-KX-A-9").exists()
    client.force_login(make_staff("district_admin", tree.far_community.parent.parent))  # other district
    assert_error(client.post(url, upload()), 403, "out_of_jurisdiction")
    client.force_login(make_staff("district_admin", tree.district))
    resp = client.post(url, upload())
    assert resp.status_code == 200 and resp.json()["created"] == 1
    fc["features"][0]["properties"]["parent"] = "NOPE"
    fc["features"][0]["properties"]["code"] = "SZ-GX-KX-A-10"
    assert_error(client.post(url, upload()), 400, "missing_parent", "features[0].parent")
