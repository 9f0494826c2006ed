"""API tests for every stations endpoint: happy path, bad input, wrong role,
wrong jurisdiction, anonymous — with the exact error shape, and on a denial
proof that nothing changed."""

import csv
import importlib.util
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from yizhan.core.models import AuditLog, Notification
from yizhan.core.testing.factories import make_staff, make_worker
from yizhan.core.testing.matrix import api_json, assert_error, assert_not_listed, check_matrix
from yizhan.stations.models import (
    CheckIn,
    ConditionReport,
    Donation,
    Station,
    StationReview,
    StationSupply,
    StockMovement,
)
from yizhan.stations.qr import qr_token_for
from yizhan.stations.tests.factories import make_keeper, make_station, make_supply

pytestmark = pytest.mark.django_db

BASE = "/api/v1/stations"
HAS_NEARBY = importlib.util.find_spec("yizhan.stations.nearby") is not None
HAS_COVERAGE = importlib.util.find_spec("yizhan.stations.coverage") is not None


@pytest.fixture
def station(tree):
    return make_station(tree.community, code="KX-001", name="东渚驿站")


@pytest.fixture
def keeper(station):
    return make_keeper(station, phone="13912345678", display_name="王站长")


@pytest.fixture
def admin(tree):
    return make_staff("community_admin", tree.community)


@pytest.fixture
def other_admin(tree):
    return make_staff("community_admin", tree.other_community)


@pytest.fixture
def other_keeper(tree):
    return make_keeper(make_station(tree.other_community))


def stations_snapshot():
    return list(Station.objects.order_by("pk").values())


def supplies_snapshot():
    return (list(StationSupply.objects.order_by("pk").values()), StockMovement.objects.count(),
            Notification.objects.count())


# ---- nearby ----------------------------------------------------------------------------


@pytest.mark.parametrize("query, code, field", [
    ("", "invalid_coordinates", "lat"),
    ("lat=91&lng=120", "invalid_coordinates", "lat"),
    ("lat=31&lng=181", "invalid_coordinates", "lng"),
    ("lat=abc&lng=120", "invalid_coordinates", "lat"),
    ("lat=31&lng=120&limit=101", "limit_too_large", "limit"),
    ("lat=31&lng=120&limit=0", "invalid_limit", "limit"),
    ("lat=31&lng=120&amenity=wifi&amenity=sauna", "unknown_amenity", "amenity"),
    ("lat=31&lng=120&mode=car", "invalid_mode", "mode"),
])
def test_nearby_bad_input(client, query, code, field):
    assert_error(client.get(f"{BASE}/nearby?{query}"), 400, code, field)


@pytest.mark.skipif(not HAS_NEARBY, reason="stations.nearby not written yet")
def test_nearby_public(client, tree, station):
    make_station(tree.community, code="KX-FAR", lat=31.39, lng=120.36, amenities=["wifi"])
    lat, lng = tree.point(tree.community)
    resp = client.get(f"{BASE}/nearby?lat={lat}&lng={lng}&limit=5")
    assert resp.status_code == 200
    body = resp.json()
    assert body["count"] == len(body["items"]) == 2
    assert body["items"][0]["code"] == "KX-001"
    assert {"id", "code", "name", "type", "lat", "lng", "distance_m", "eta_min", "open_now", "amenities"} <= set(
        body["items"][0])
    resp = client.get(f"{BASE}/nearby?lat={lat}&lng={lng}&amenity=wifi&mode=ebike&open_now=true")
    assert [it["code"] for it in resp.json()["items"]] == ["KX-FAR"]


# ---- coverage --------------------------------------------------------------------------


def test_coverage_denied_and_bad_input(client, tree, admin, other_admin):
    url = f"{BASE}/coverage?jurisdiction={tree.community.code}"
    check_matrix(client, "get", url, wrong_role=make_worker(), wrong_jurisdiction=other_admin)
    client.force_login(admin)
    assert_error(client.get(f"{BASE}/coverage?jurisdiction=NOPE"), 400, "unknown_jurisdiction", "jurisdiction")
    assert_error(client.get(f"{url}&mode=car"), 400, "invalid_mode", "mode")
    assert_error(client.get(f"{url}&minutes=600"), 400, "invalid_minutes", "minutes")
    # a community admin cannot read the district's coverage
    assert_error(client.get(f"{BASE}/coverage?jurisdiction={tree.district.code}"), 403, "out_of_jurisdiction")


@pytest.mark.skipif(not HAS_COVERAGE, reason="stations.coverage not written yet")
def test_coverage_happy(client, tree, station, admin):
    client.force_login(admin)
    resp = client.get(f"{BASE}/coverage?jurisdiction={tree.community.code}&mode=walk")
    assert resp.status_code == 200
    body = resp.json()
    assert body["mode"] == "walk" and body["minutes"] == 15 and 0 < body["area_share"] <= 1
    assert body["uncovered"]["type"] == "FeatureCollection"


# ---- open data --------------------------------------------------------------------------


def test_exports_public_without_personal_data(client, tree, station, keeper):
    removed = make_station(tree.community, code="GONE-1")
    Station.objects.filter(pk=removed.pk).update(status="removed", status_reason="拆除")
    resp = client.get(f"{BASE}/export.geojson")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("application/geo+json")
    fc = resp.json()
    assert fc["type"] == "FeatureCollection" and [f["id"] for f in fc["features"]] == ["KX-001"]
    props = fc["features"][0]["properties"]
    assert props["amenities"] == ["phone_charging", "drinking_water"] and props["opening_hours"] == "24/7"
    assert fc["features"][0]["geometry"]["coordinates"] == [station.lng, station.lat]
    text = resp.content.decode()
    assert "13912345678" not in text and "王站长" not in text and "5678" not in text

    resp = client.get(f"{BASE}/export.csv")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/csv")
    text = resp.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "code" and [r[0] for r in rows[1:]] == ["KX-001"]
    assert "phone_charging;drinking_water" in rows[1] and "13912345678" not in text and "GONE-1" not in text


# ---- list / create ------------------------------------------------------------------------


def test_list_scoped(client, tree, station, admin, other_admin):
    b_station = make_station(tree.other_community, code="LH-001")
    check_matrix(client, "get", f"{BASE}/", wrong_role=make_worker())
    client.force_login(admin)
    resp = client.get(f"{BASE}/")
    assert resp.status_code == 200 and [it["code"] for it in resp.json()["items"]] == ["KX-001"]
    assert_not_listed(resp, value=b_station.code)
    client.force_login(other_admin)
    assert_not_listed(client.get(f"{BASE}/"), value="KX-001")
    client.force_login(make_staff("district_admin", tree.district))
    body = client.get(f"{BASE}/?q=东渚").json()
    assert body["count"] == 1 and body["items"][0]["jurisdiction"]["code"] == tree.community.code
    client.force_login(make_staff("district_admin", tree.other_district))
    assert client.get(f"{BASE}/").json()["count"] == 0


def new_station(tree, **over):
    lat, lng = tree.point(tree.community)
    data = {"code": "KX-NEW", "name": "新驿站", "address": "新路 1 号", "lat": lat, "lng": lng,
            "jurisdiction": tree.community.code, "amenities": ["wifi"], "hours": {"mon": [["08:00", "20:00"]]}}
    data.update(over)
    return data


def test_create_matrix(client, tree, admin, other_admin):
    resp = check_matrix(
        client, "post", f"{BASE}/", new_station(tree),
        wrong_role=[make_worker(), make_staff("keeper", tree.community)], wrong_jurisdiction=other_admin,
        allowed=admin, allowed_status=201, snapshot=stations_snapshot,
    )
    body = resp.json()
    assert body["code"] == "KX-NEW" and body["status"] == "open" and body["amenities"] == ["wifi"]
    assert Station.objects.filter(code="KX-NEW").exists()


@pytest.mark.parametrize("over, status, code, field", [
    ({"lat": 123}, 400, "invalid_coordinates", "lat"),
    ({"amenities": ["spa"]}, 400, "unknown_amenity", "amenities"),
    ({"code": "KX-001"}, 409, "station_code_taken", "code"),
    ({"jurisdiction": "NOPE"}, 400, "unknown_jurisdiction", "jurisdiction"),
    ({"name": None}, 400, "invalid", "name"),  # schema-level
])
def test_create_bad_input(client, tree, station, admin, over, status, code, field):
    client.force_login(admin)
    before = stations_snapshot()
    assert_error(api_json(client, "post", f"{BASE}/", new_station(tree, **over)), status, code, field)
    assert stations_snapshot() == before


# ---- one station ---------------------------------------------------------------------------


def test_detail_public_with_masked_phone(client, tree, station, keeper):
    make_supply(station, "water", quantity=2, threshold=5)
    StationReview.objects.create(station=station, user=make_worker(display_name="李师傅"), rating=4, comment="好")
    resp = client.get(f"{BASE}/KX-001")
    assert resp.status_code == 200
    body = resp.json()
    assert body["name"] == "东渚驿站" and body["keeper_phone"] == "139****5678" and "13912345678" not in resp.content.decode()
    assert body["supplies"][0]["item"] == "water" and body["supplies"][0]["low"] is True
    assert body["reviews"][0]["author"] == "李*"
    assert_error(client.get(f"{BASE}/NOPE"), 404, "station_not_found")
    Station.objects.filter(pk=station.pk).update(status="removed", status_reason="拆除")
    assert_error(client.get(f"{BASE}/KX-001"), 404, "station_not_found")


def test_patch_matrix(client, tree, station, admin, other_admin):
    resp = check_matrix(
        client, "patch", f"{BASE}/KX-001", {"name": "改名驿站", "amenities": ["toilet"]},
        wrong_role=[make_worker(), make_keeper(station)], wrong_jurisdiction=other_admin, allowed=admin,
        snapshot=stations_snapshot,
    )
    assert resp.json()["name"] == "改名驿站" and resp.json()["amenities"] == ["toilet"]
    client.force_login(admin)
    assert_error(api_json(client, "patch", f"{BASE}/KX-001", {"lat": -100}), 400, "invalid_coordinates", "lat")
    assert_error(api_json(client, "patch", f"{BASE}/NOPE", {"name": "x"}), 404, "station_not_found")


def test_status_matrix(client, tree, station, admin, other_admin):
    resp = check_matrix(
        client, "post", f"{BASE}/KX-001/status", {"status": "closed", "reason": "装修"},
        wrong_role=make_worker(), wrong_jurisdiction=other_admin, allowed=admin, snapshot=stations_snapshot,
    )
    assert resp.json()["status"] == "closed"
    client.force_login(admin)
    assert_error(api_json(client, "post", f"{BASE}/KX-001/status", {"status": "removed"}), 400, "reason_required",
                 "reason")
    assert_error(api_json(client, "post", f"{BASE}/KX-001/status", {"status": "bogus"}), 400, "invalid_status",
                 "status")


def test_keepers_contact_read_is_audited(client, tree, station, keeper, admin, other_admin):
    check_matrix(client, "get", f"{BASE}/KX-001/keepers", wrong_role=make_worker(), wrong_jurisdiction=other_admin)
    client.force_login(admin)
    before = AuditLog.objects.filter(action="read").count()
    body = client.get(f"{BASE}/KX-001/keepers").json()
    assert body["items"][0]["phone"] == "13912345678"
    assert AuditLog.objects.filter(action="read").count() == before + 1
    client.force_login(keeper)  # keepers may view but see masked phones, unaudited
    assert client.get(f"{BASE}/KX-001/keepers").json()["items"][0]["phone"] == "139****5678"


def test_qr_matrix(client, tree, station, keeper, other_keeper, other_admin):
    resp = check_matrix(client, "get", f"{BASE}/KX-001/qr", wrong_role=make_worker(),
                        wrong_jurisdiction=[other_keeper, other_admin], allowed=keeper)
    body = resp.json()
    assert body["token"] == qr_token_for(station=station)
    assert body["url"].endswith(f"/c/{body['token']}/") and body["svg"].startswith("<svg")
    assert body["valid_on"] == timezone.localdate().isoformat()
    # a keeper of another station of the same community
    client.force_login(make_keeper(make_station(tree.community)))
    assert_error(client.get(f"{BASE}/KX-001/qr"), 403, "out_of_jurisdiction")


# ---- worker actions -----------------------------------------------------------------------------


def test_checkin(client, station):
    token = qr_token_for(station=station)
    assert_error(api_json(client, "post", f"{BASE}/checkins", {"token": token}), 401, "not_authenticated")
    assert not CheckIn.objects.exists()
    client.force_login(make_worker())
    resp = api_json(client, "post", f"{BASE}/checkins", {"token": token})
    assert resp.status_code == 201
    assert resp.json()["counted"] is True and resp.json()["visit_count"] == 1
    assert resp.json()["station"] == {"code": "KX-001", "name": "东渚驿站"}
    again = api_json(client, "post", f"{BASE}/checkins", {"token": token}).json()
    assert again["counted"] is False and again["visit_count"] == 1


@pytest.mark.parametrize("make_token, status, code", [
    (lambda st: "garbage", 400, "qr_malformed"),
    (lambda st: qr_token_for(station=st, day=timezone.localdate().replace(year=2020)), 400, "qr_expired"),
    (lambda st: qr_token_for(station=st)[:-2] + "AA", 400, "qr_bad_signature"),
    (lambda st: qr_token_for(station=Station(code="GHOST")), 404, "qr_unknown_station"),
])
def test_checkin_bad_tokens(client, station, make_token, status, code):
    client.force_login(make_worker())
    resp = api_json(client, "post", f"{BASE}/checkins", {"token": make_token(station)})
    body = assert_error(resp, status, code, "token")
    assert body["message"]["zh"] and body["message"]["en"]
    assert not CheckIn.objects.exists() and Station.objects.get(pk=station.pk).visit_count == 0


def test_condition_report(client, station, keeper):
    url = f"{BASE}/KX-001/condition-reports"
    assert_error(api_json(client, "post", url, {"kind": "dirty"}), 401, "not_authenticated")
    worker = make_worker()
    client.force_login(worker)
    assert_error(api_json(client, "post", url, {"kind": "ufo"}), 400, "unknown_condition_kind", "kind")
    other_checkin = CheckIn.objects.create(station=station, user=make_worker())
    assert_error(api_json(client, "post", url, {"kind": "dirty", "checkin_id": other_checkin.pk}), 400,
                 "invalid_checkin", "checkin")
    assert not ConditionReport.objects.exists() and not Notification.objects.exists()
    resp = api_json(client, "post", url, {"kind": "charger_broken", "note": "充电柜没电"})
    assert resp.status_code == 201 and resp.json()["kind"] == "charger_broken"
    assert Notification.objects.get(user=keeper).kind == "station_condition"
    assert Station.objects.get(pk=station.pk).last_confirmed_at is not None
    assert_error(api_json(client, "post", f"{BASE}/NOPE/condition-reports", {"kind": "dirty"}), 404,
                 "station_not_found")


def test_resolve_matrix(client, tree, station, keeper, other_keeper, other_admin):
    report = ConditionReport.objects.create(station=station, user=make_worker(), kind="dirty")

    def snap():
        return list(ConditionReport.objects.values("pk", "resolved_at", "resolved_by"))

    url = f"{BASE}/KX-001/condition-reports/{report.pk}/resolve"
    resp = check_matrix(client, "post", url, {}, wrong_role=make_worker(),
                        wrong_jurisdiction=[other_keeper, other_admin], allowed=keeper, snapshot=snap)
    assert resp.json()["resolved_at"]
    assert_error(api_json(client, "post", url, {}), 409, "report_already_resolved")
    assert_error(api_json(client, "post", f"{BASE}/KX-001/condition-reports/99999/resolve", {}), 404,
                 "report_not_found")


def test_review(client, station):
    url = f"{BASE}/KX-001/reviews"
    assert_error(api_json(client, "post", url, {"rating": 5}), 401, "not_authenticated")
    client.force_login(make_worker())
    for bad in (0, 6, 4.5, "5"):
        assert_error(api_json(client, "post", url, {"rating": bad}), 400, "invalid_rating", "rating")
    assert not StationReview.objects.exists()
    body = api_json(client, "post", url, {"rating": 5, "comment": "干净"}).json()
    assert body["station_rating"] == 5.0 and body["station_rating_count"] == 1
    body = api_json(client, "post", url, {"rating": 3}).json()
    assert body["station_rating"] == 3.0 and body["station_rating_count"] == 1


# ---- keeper: supplies and donations ----------------------------------------------------------


def test_supplies_list_matrix(client, station, keeper, other_keeper, other_admin):
    make_supply(station, "water", quantity=3, threshold=5)
    resp = check_matrix(client, "get", f"{BASE}/KX-001/supplies", wrong_role=make_worker(),
                        wrong_jurisdiction=[other_keeper, other_admin], allowed=keeper)
    assert resp.json()["items"] == [
        {"item": "water", "label": "饮用水", "quantity": 3, "threshold": 5, "unit": "", "is_low": True}
    ]


def test_movement_matrix(client, station, keeper, other_keeper, other_admin):
    make_supply(station, "water", quantity=10, threshold=8)
    resp = check_matrix(client, "post", f"{BASE}/KX-001/supplies/water/movements", {"kind": "take", "quantity": 3},
                        wrong_role=make_worker(), wrong_jurisdiction=[other_keeper, other_admin], allowed=keeper,
                        snapshot=supplies_snapshot)
    assert resp.json()["quantity"] == 7 and resp.json()["is_low"] is True
    assert Notification.objects.get(user=keeper).kind == "stock_low"


@pytest.mark.parametrize("payload, status, code, field", [
    ({"kind": "take", "quantity": -2}, 400, "invalid_quantity", "quantity"),
    ({"kind": "take", "quantity": 1.5}, 400, "invalid_quantity", "quantity"),
    ({"kind": "take", "quantity": "two"}, 400, "invalid_quantity", "quantity"),
    ({"kind": "take", "quantity": 11}, 409, "insufficient_stock", "quantity"),
    ({"kind": "steal", "quantity": 1}, 400, "invalid_movement_kind", "kind"),
])
def test_movement_bad_input(client, station, keeper, payload, status, code, field):
    make_supply(station, "water", quantity=10)
    client.force_login(keeper)
    before = supplies_snapshot()
    assert_error(api_json(client, "post", f"{BASE}/KX-001/supplies/water/movements", payload), status, code, field)
    assert supplies_snapshot() == before


def test_movement_unknown_item(client, station, keeper):
    client.force_login(keeper)
    assert_error(api_json(client, "post", f"{BASE}/KX-001/supplies/beer/movements", {"kind": "restock", "quantity": 1}),
                 400, "unknown_item", "item")
    assert not StationSupply.objects.exists()


def test_threshold_matrix(client, station, keeper, other_keeper, other_admin):
    resp = check_matrix(client, "put", f"{BASE}/KX-001/supplies/masks", {"threshold": 20},
                        wrong_role=make_worker(), wrong_jurisdiction=[other_keeper, other_admin], allowed=keeper,
                        snapshot=supplies_snapshot)
    assert resp.json()["threshold"] == 20
    for bad in (-1, 2.5):
        assert_error(api_json(client, "put", f"{BASE}/KX-001/supplies/masks", {"threshold": bad}), 400,
                     "invalid_threshold", "threshold")


def test_donations_matrix(client, tree, station, keeper, other_keeper, other_admin, admin):
    payload = {"giver_kind": "merchant", "giver_name": "好邻居超市", "description": "矿泉水两箱", "item": "water",
               "quantity": 24}

    def snap():
        return Donation.objects.count(), supplies_snapshot()

    resp = check_matrix(client, "post", f"{BASE}/KX-001/donations", payload, wrong_role=make_worker(),
                        wrong_jurisdiction=[other_keeper, other_admin], allowed=keeper, allowed_status=201,
                        snapshot=snap)
    assert resp.json()["giver_name"] == "好邻居超市"
    assert StationSupply.objects.get(station=station, item="water").quantity == 24
    resp = check_matrix(client, "get", f"{BASE}/KX-001/donations", wrong_role=make_worker(),
                        wrong_jurisdiction=[other_keeper, other_admin], allowed=admin)
    assert resp.json()["count"] == 1
    client.force_login(keeper)
    assert_error(api_json(client, "post", f"{BASE}/KX-001/donations", {**payload, "giver_name": ""}), 400,
                 "required", "giver_name")
    assert_error(api_json(client, "post", f"{BASE}/KX-001/donations", {**payload, "quantity": -1}), 400,
                 "invalid_quantity", "quantity")
    assert Donation.objects.count() == 1


# ---- import --------------------------------------------------------------------------------------


def _csv_upload(tree, code="KX-IMP", community=None):
    text = "编号,名称,地址,纬度,经度,社区编码,开放时间\n" \
           f"{code},导入驿站,导入路 1 号,31.34,120.38,{community or tree.community.code},每天 08:00-20:00\n"
    return SimpleUploadedFile("stations.csv", text.encode("utf-8-sig"), content_type="text/csv")


def test_import_endpoint(client, tree, admin, other_admin):
    url = f"{BASE}/import"
    assert_error(client.post(url, {"file": _csv_upload(tree)}), 401, "not_authenticated")
    client.force_login(make_worker())
    assert_error(client.post(url, {"file": _csv_upload(tree)}), 403, "permission_denied")
    client.force_login(other_admin)  # another community: row error, nothing written
    body = client.post(url, {"file": _csv_upload(tree)}).json()
    assert body["ok"] is False and body["rows"][0]["errors"][0]["field"] == "community"
    assert not Station.objects.exists()
    client.force_login(admin)
    body = client.post(url, {"file": _csv_upload(tree), "dry_run": "true"}).json()
    assert body["ok"] and body["dry_run"] and body["created"] == 1 and not Station.objects.exists()
    body = client.post(url, {"file": _csv_upload(tree)}).json()
    assert body["ok"] and body["created"] == 1 and body["rows"][0] == {"row": 2, "code": "KX-IMP", "action": "create",
                                                                         "errors": []}
    assert Station.objects.get(code="KX-IMP").hours["sun"] == [["08:00", "20:00"]]
    bad = SimpleUploadedFile("x.pdf", b"%PDF-1.4", content_type="application/pdf")
    assert_error(client.post(url, {"file": bad}), 400, "import_bad_file", "file")
    assert_error(client.post(url, {}), 400, "invalid", "file")


def test_import_template(client, tree, admin):
    assert_error(client.get(f"{BASE}/import/template.xlsx"), 401, "not_authenticated")
    client.force_login(admin)
    resp = client.get(f"{BASE}/import/template.xlsx")
    assert resp.status_code == 200 and resp.content[:2] == b"PK"


def test_openapi_lists_every_stations_endpoint(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for p in ("/nearby", "/coverage", "/export.geojson", "/export.csv", "/", "/{code}", "/{code}/status",
              "/{code}/qr", "/checkins", "/{code}/condition-reports", "/{code}/condition-reports/{report_id}/resolve",
              "/{code}/reviews", "/{code}/supplies", "/{code}/supplies/{item}/movements", "/{code}/supplies/{item}",
              "/{code}/donations", "/import"):
        assert f"/api/v1/stations{p}" in paths, p
