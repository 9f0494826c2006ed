"""Open311 GeoReport v2 at /open311/v2/ against the spec (https://wiki.open311.org/GeoReport_v2)
and FixMyStreet's servicerequestupdates extension: shapes in JSON and XML, the standard
filters and their limits, the error array with 400/403/404, keys (revoked → 403), no
personal data in GETs — and an existing client library (``georeport`` from PyPI)
driving the live server unmodified."""

from __future__ import annotations

import io
import itertools
import json
import secrets
from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest
from django.core.management import call_command
from django.utils import timezone

from yizhan.core.errors import NotAuthenticated, PermissionDenied
from yizhan.core.geo import cell_of
from yizhan.core.testing.factories import make_jurisdiction_tree, make_staff, make_worker
from yizhan.reports import services
from yizhan.reports.models import Case, CaseEvent, Open311Client
from yizhan.reports.services.open311 import (
    open311_client_authenticate,
    open311_client_create,
    open311_client_revoke,
)
from yizhan.reports.tests.factories import make_category, make_department

pytestmark = pytest.mark.django_db

BASE = "/open311/v2"
HAS_SUBMIT = hasattr(services, "case_submit")
needs_submit = pytest.mark.skipif(not HAS_SUBMIT, reason="services.case_submit not written yet")
_seq = itertools.count(1)

FLOOR = {"name": "floor", "label": "楼层", "label_en": "Floor", "required": True, "type": "number"}
KIND = {"name": "kind", "label": "类型", "label_en": "Kind", "required": False,
        "choices": [{"value": "cover", "label": "井盖", "label_en": "Cover"}, "grate"]}


@pytest.fixture
def cat(tree):
    make_department(jurisdiction=tree.district, code="urban", name="城市管理局")
    return make_category("manhole", name="井盖缺失", keywords="井盖, 窨井", extra_fields=[FLOOR, KIND],
                         description="井盖缺失或破损", group_name="公共设施", accept_minutes=60, handle_minutes=240)


@pytest.fixture
def plain_cat():
    return make_category("rubbish", name="暴露垃圾", handle_minutes=240)


@pytest.fixture
def key():
    _client, raw = open311_client_create(actor=None, name="12345热线")
    return raw


def _case(tree, category, *, state="submitted", days_ago=0, node=None, **fields) -> Case:
    """A case row as the services leave it (Open311 only reads cases)."""
    node = node or tree.grid
    lat, lng = tree.point(node)
    n = next(_seq)
    values = {
        "number": f"20261101-{n:06d}", "token": secrets.token_hex(8), "category": category, "state": state,
        "description": f"第{n}个问题", "lat": lat, "lng": lng, "cell": cell_of(lat, lng), "jurisdiction": node,
        "submitted_at": timezone.now() - timedelta(days=days_ago),
        "reporter": make_worker(phone=f"1380000{n:04d}", display_name="张三丰"),
        "contact_name": "李四", "contact_phone": "13912345678", "contact_email": "lisi@example.com",
        "address": "科学城大道 1 号",
    }
    if state == "rejected":
        values["reject_reason"] = "不属于受理范围"
    if state == "parked":
        values["parked_reason"] = "等待改造"
    values.update(fields)
    return Case.objects.create(**values)


def j(resp):
    assert resp["Content-Type"].startswith("application/json"), resp["Content-Type"]
    return json.loads(resp.content)


def x(resp) -> ET.Element:
    assert resp["Content-Type"].startswith("text/xml"), resp["Content-Type"]
    assert resp.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(resp.content)


def assert_o311_error(resp, status: int, fmt: str = "json") -> str:
    """The spec's error shape: [{"code": status, "description": "..."}]."""
    assert resp.status_code == status, resp.content[:300]
    if fmt == "xml":
        root = x(resp)
        assert root.tag == "errors" and [e.tag for e in root] == ["error"]
        assert root.find("error/code").text == str(status)
        desc = root.find("error/description").text
    else:
        body = j(resp)
        assert isinstance(body, list) and len(body) == 1 and set(body[0]) == {"code", "description"}
        assert body[0]["code"] == status
        desc = body[0]["description"]
    assert desc
    return desc


# ---- discovery and services -------------------------------------------------------------------


def test_discovery(client):
    body = j(client.get(f"{BASE}/discovery.json"))
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    ep = body["endpoints"][0]
    assert ep["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert ep["url"] == "http://testserver/open311/v2" and ep["type"] == "production"
    assert set(ep["formats"]) == {"application/json", "text/xml"}
    root = x(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery" and root.find("endpoints/endpoint/specification").text.endswith("GeoReport_v2")
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == ["application/json", "text/xml"]
    assert client.get(f"{BASE}/").status_code == 200


def test_services_list(client, cat, plain_cat):
    make_category("retired", active=False)
    body = j(client.get(f"{BASE}/services.json"))
    by_code = {s["service_code"]: s for s in body}
    assert set(by_code) == {"manhole", "rubbish"}
    assert by_code["manhole"] == {
        "service_code": "manhole", "service_name": "井盖缺失", "description": "井盖缺失或破损", "metadata": True,
        "type": "realtime", "keywords": "井盖,窨井", "group": "公共设施",
    }
    assert by_code["rubbish"]["metadata"] is False
    root = x(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services" and {s.find("service_code").text for s in root.findall("service")} == by_code.keys()
    manhole = next(s for s in root.findall("service") if s.find("service_code").text == "manhole")
    assert manhole.find("metadata").text == "true" and manhole.find("type").text == "realtime"
    # English names for an English client
    body = j(client.get(f"{BASE}/services.json", headers={"Accept-Language": "en"}))
    assert all(s["service_name"].startswith("Test category") for s in body)


def test_service_definition(client, cat):
    body = j(client.get(f"{BASE}/services/manhole.json"))
    assert body["service_code"] == "manhole"
    floor, kind = body["attributes"]
    assert floor == {"variable": True, "code": "floor", "datatype": "number", "required": True,
                     "datatype_description": "", "order": 1, "description": "楼层"}
    assert kind["datatype"] == "singlevaluelist" and kind["required"] is False and kind["order"] == 2
    assert kind["values"] == [{"key": "cover", "name": "井盖"}, {"key": "grate", "name": "grate"}]
    root = x(client.get(f"{BASE}/services/manhole.xml"))
    assert root.tag == "service_definition" and root.find("service_code").text == "manhole"
    attrs = root.findall("attributes/attribute")
    assert [a.find("code").text for a in attrs] == ["floor", "kind"]
    assert attrs[0].find("required").text == "true" and attrs[0].find("variable").text == "true"
    assert [v.find("key").text for v in attrs[1].findall("values/value")] == ["cover", "grate"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_service_404(client, cat, fmt):
    desc = assert_o311_error(client.get(f"{BASE}/services/nope.{fmt}"), 404, fmt)
    assert "nope" in desc


def test_unknown_paths_and_formats(client, cat):
    assert_o311_error(client.get(f"{BASE}/services.csv"), 404)
    assert_o311_error(client.get(f"{BASE}/services"), 404)
    assert_o311_error(client.get(f"{BASE}/nothing.xml"), 404, "xml")
    resp = client.delete(f"{BASE}/services.json")
    assert resp.status_code == 405 and j(resp)[0]["code"] == 405


# ---- GET requests ----------------------------------------------------------------------------------


REQUEST_KEYS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url", "external_status_code",
}
PERSONAL = ("张三丰", "李四", "13912345678", "lisi@example.com", "1380000")


def test_get_requests_shape_and_no_personal_data(client, tree, cat):
    dept = make_department(jurisdiction=tree.district, code="urban")
    case = _case(tree, cat, state="dispatched", department=dept, stage_due_at=timezone.now() + timedelta(hours=3))
    CaseEvent.objects.create(case=case, action="dispatch", from_state="accepted", to_state="dispatched",
                             at=timezone.now(), note="内部：交老王", public_note="已派城管中队", is_public=True)
    CaseEvent.objects.create(case=case, action="progress", at=timezone.now(), note="内部备注", is_public=False)
    resp = client.get(f"{BASE}/requests.json")
    body = j(resp)
    assert len(body) == 1 and set(body[0]) == REQUEST_KEYS
    r = body[0]
    assert r["service_request_id"] == case.number and r["status"] == "open"
    assert r["service_code"] == "manhole" and r["service_name"] == "井盖缺失"
    assert r["agency_responsible"] == "城市管理局" and r["status_notes"] == "已派城管中队"
    assert r["service_notice"] == "受理时限 1 工作小时，处置时限 4 工作小时"
    assert r["requested_datetime"].endswith("+08:00") and r["updated_datetime"].endswith("+08:00")
    assert r["expected_datetime"].endswith("+08:00")
    assert r["lat"] == case.lat and r["long"] == case.lng and r["external_status_code"] == "dispatched"
    text = resp.content.decode()
    for secret in PERSONAL:
        assert secret not in text
    assert "内部备注" not in text and "内部：交老王" not in text  # only public replies are published

    root = x(client.get(f"{BASE}/requests.xml"))
    assert root.tag == "service_requests" and len(root.findall("request")) == 1
    req = root.find("request")
    assert req.find("service_request_id").text == case.number and req.find("long").text == str(case.lng)
    assert {child.tag for child in req} == REQUEST_KEYS


@pytest.mark.parametrize("state, status", [
    ("submitted", "open"), ("accepted", "open"), ("dispatched", "open"), ("in_progress", "open"),
    ("returned", "open"), ("handled", "open"), ("verified", "open"), ("parked", "open"),
    ("closed", "closed"), ("evaluated", "closed"), ("rejected", "closed"), ("merged", "closed"),
])
def test_status_mapping(client, tree, cat, state, status):
    extra = {}
    if state == "merged":
        extra["merged_into"] = _case(tree, cat, days_ago=200)  # outside the window: not listed
    case = _case(tree, cat, state=state, **extra)
    (r,) = j(client.get(f"{BASE}/requests/{case.number}.json"))
    assert r["status"] == status and r["external_status_code"] == state
    if state == "rejected":  # the reject reason is internal: the state's label, no text
        assert r["status_notes"] != "不属于受理范围" and r["description"] == ""
    if state == "merged":
        assert extra["merged_into"].number in r["status_notes"]
    if state == "parked":
        assert r["status_notes"] != "等待改造" and r["expected_datetime"] is None


def test_get_requests_filters(client, tree, cat, plain_cat):
    a = _case(tree, cat, days_ago=1)
    b = _case(tree, plain_cat, state="closed", days_ago=2)
    c = _case(tree, cat, state="evaluated", days_ago=10, node=tree.far_grid)
    old = _case(tree, cat, days_ago=120)

    def ids(query=""):
        return [r["service_request_id"] for r in j(client.get(f"{BASE}/requests.json?{query}"))]

    assert ids() == [a.number, b.number, c.number]  # newest first, default last 90 days
    assert ids(f"service_request_id={old.number},{b.number}") == [b.number, old.number]  # overrides the rest
    assert ids(f"service_request_id={old.number}&status=open&service_code=rubbish") == [old.number]
    assert ids("service_code=rubbish") == [b.number]
    assert ids("service_code=rubbish,manhole&status=open") == [a.number]
    assert ids("status=closed") == [b.number, c.number]
    assert ids("status=open,closed") == [a.number, b.number, c.number]
    now = timezone.now()
    start = (now - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(f"start_date={start}") == [a.number, b.number]
    end = (now - timedelta(days=5)).astimezone(timezone.get_current_timezone()).isoformat(timespec="seconds")
    assert ids(f"end_date={end.replace('+', '%2B')}") == [c.number]  # last 90 days before end_date
    start = (now - timedelta(days=150)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(f"start_date={start}") == [old.number]  # 90 days after start_date
    assert ids(f"jurisdiction_id={tree.far_community.code}") == [c.number]
    assert ids(f"jurisdiction_id={tree.community.code}") == [a.number, b.number]


@pytest.mark.parametrize("query", [
    "start_date=yesterday", "end_date=2026-13-01T00:00:00Z", "status=pending",
    "start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",  # more than 90 days
    "start_date=2026-06-01T00:00:00Z&end_date=2026-05-01T00:00:00Z",  # end before start
    "service_request_id=" + ",".join(str(i) for i in range(201)),
])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_get_requests_bad_input(client, cat, query, fmt):
    assert_o311_error(client.get(f"{BASE}/requests.{fmt}?{query}"), 400, fmt)


@pytest.mark.parametrize("path", ["requests.json", "services.json", "services/manhole.xml",
                                  "servicerequestupdates.json"])
def test_unknown_jurisdiction_id_404(client, cat, path):
    fmt = path.rsplit(".", 1)[1]
    assert "nowhere" in assert_o311_error(client.get(f"{BASE}/{path}?jurisdiction_id=nowhere"), 404, fmt)


def test_known_jurisdiction_id_accepted(client, tree, cat):
    assert len(j(client.get(f"{BASE}/services.json?jurisdiction_id={tree.city.code}"))) == 1


def test_request_detail_and_token(client, tree, cat):
    case = _case(tree, cat, description="控制字符\x01\x0b也能解析 <b>&amp;</b>")
    (r,) = j(client.get(f"{BASE}/requests/{case.number}.json"))
    assert r["service_request_id"] == case.number and set(r) == REQUEST_KEYS
    root = x(client.get(f"{BASE}/requests/{case.number}.xml"))
    assert root.find("request/service_request_id").text == case.number
    assert root.find("request/description").text == "控制字符也能解析 <b>&amp;</b>"
    assert_o311_error(client.get(f"{BASE}/requests/19990101-000000.json"), 404)
    assert_o311_error(client.get(f"{BASE}/requests/19990101-000000.xml"), 404, "xml")

    assert j(client.get(f"{BASE}/tokens/{case.token}.json")) == [
        {"service_request_id": case.number, "token": case.token}]
    root = x(client.get(f"{BASE}/tokens/{case.token}.xml"))
    assert root.tag == "service_requests" and root.find("request/service_request_id").text == case.number
    assert_o311_error(client.get(f"{BASE}/tokens/nope.json"), 404)


# ---- servicerequestupdates (FixMyStreet) ------------------------------------------------------------


def test_service_request_updates(client, tree, cat):
    case = _case(tree, cat, state="closed")
    now = timezone.now()
    e1 = CaseEvent.objects.create(case=case, action="accept", from_state="submitted", to_state="accepted",
                                  at=now - timedelta(days=3), note="", is_public=True, actor_label="王网格员")
    CaseEvent.objects.create(case=case, action="progress", at=now - timedelta(days=2), note="内部", is_public=False)
    e3 = CaseEvent.objects.create(case=case, action="close", from_state="verified", to_state="closed",
                                  at=now - timedelta(days=1), note="内部：结案", public_note="已修复", is_public=True)
    CaseEvent.objects.create(case=case, action="accept", at=now - timedelta(days=100), is_public=True)
    resp = client.get(f"{BASE}/servicerequestupdates.json")
    body = j(resp)
    assert [u["update_id"] for u in body] == [str(e1.pk), str(e3.pk)]  # oldest first, last 90 days
    assert body[0] == {
        "update_id": str(e1.pk), "service_request_id": case.number, "status": "open",
        "updated_datetime": body[0]["updated_datetime"], "description": "立案", "media_url": "",
        "external_status_code": "accepted",
    }
    assert body[0]["updated_datetime"].endswith("+08:00")
    assert body[1]["status"] == "closed" and body[1]["description"] == "已修复"
    assert "内部" not in resp.content.decode() and "王网格员" not in resp.content.decode()
    start = (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [u["update_id"] for u in j(client.get(f"{BASE}/servicerequestupdates.json?start_date={start}"))] == [
        str(e3.pk)]
    assert [u["update_id"] for u in j(client.get(f"{BASE}/servicerequestupdates.json?updated_after={start}"))] == [
        str(e3.pk)]
    end = (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [u["update_id"] for u in j(client.get(f"{BASE}/servicerequestupdates.json?updated_before={end}"))] == [
        str(e1.pk)]
    root = x(client.get(f"{BASE}/servicerequestupdates.xml"))
    assert root.tag == "service_requests_updates"
    assert [u.find("update_id").text for u in root.findall("request_update")] == [str(e1.pk), str(e3.pk)]
    assert_o311_error(client.get(f"{BASE}/servicerequestupdates.xml?start_date=bad"), 400, "xml")


# ---- POST requests ---------------------------------------------------------------------------------------


def _post(client, fmt="json", **data):
    return client.post(f"{BASE}/requests.{fmt}", data)


def test_post_key_errors_change_nothing(client, tree, cat, key):
    lat, lng = tree.point(tree.grid)
    base = {"service_code": "manhole", "lat": lat, "long": lng, "attribute[floor]": "1"}
    # GeoReport v2, POST Service Request, Possible Errors: a required argument not provided -> 400
    assert "api_key" in assert_o311_error(_post(client, **base), 400)
    assert "api_key" in assert_o311_error(_post(client, "xml", **base), 400, "xml")
    assert "api_key" in assert_o311_error(_post(client, api_key="   ", **base), 400)  # blank = not provided
    assert_o311_error(_post(client, api_key="o311_wrong", **base), 403)
    assert_o311_error(_post(client, "xml", api_key="o311_wrong", **base), 403, "xml")
    client_row = Open311Client.objects.get()
    open311_client_revoke(actor=None, client=client_row)
    desc = assert_o311_error(_post(client, api_key=key, **base), 403)
    assert "revoked" in desc or "吊销" in desc
    assert not Case.objects.exists()


def test_post_bad_input(client, tree, cat, key):
    lat, lng = tree.point(tree.grid)
    assert "service_code" in assert_o311_error(_post(client, api_key=key, lat=lat, long=lng), 400)
    assert_o311_error(_post(client, api_key=key, service_code="nope", lat=lat, long=lng), 400)
    assert_o311_error(_post(client, api_key=key, service_code="manhole"), 400)  # no location at all
    assert_o311_error(_post(client, api_key=key, service_code="manhole", address_string="火星某处"), 400)
    assert not Case.objects.exists()


@needs_submit
@pytest.mark.parametrize("over, words", [
    ({"lat": "31.2", "long": "121.9"}, "location_outside"),  # outside every jurisdiction we serve
    ({"lat": "abc"}, "invalid_coordinates"),
    ({"attribute[floor]": ""}, "missing_field"),  # a required attribute
    ({"description": "长" * 4001}, "text_too_long"),
])
def test_post_domain_errors(client, tree, cat, key, over, words):
    lat, lng = tree.point(tree.grid)
    data = {"api_key": key, "service_code": "manhole", "lat": lat, "long": lng, "attribute[floor]": "3", **over}
    desc = assert_o311_error(_post(client, **data), 400)
    assert words in desc
    assert not Case.objects.exists()


@needs_submit
def test_post_creates_case_contact_private(client, tree, cat, key):
    make_staff("community_admin", tree.community)
    lat, lng = tree.point(tree.grid)
    resp = _post(client, api_key=key, service_code="manhole", lat=lat, long=lng, description="井盖不见了",
                 first_name="四", last_name="李", phone="13912345678", email="lisi@example.com",
                 **{"attribute[floor]": "3", "attribute[kind]": "cover", "attribute[bogus]": "x"},
                 address_string="科学城大道 9 号", media_url="https://img.example.com/a.jpg", device_id="d1")
    assert resp.status_code == 201, resp.content
    (r,) = j(resp)
    case = Case.objects.get()
    assert r == {"service_request_id": case.number, "token": case.token,
                 "service_notice": "受理时限 1 工作小时，处置时限 4 工作小时", "account_id": None}
    assert case.source == "open311" and case.reporter is None
    assert case.open311_client == Open311Client.objects.get()
    assert case.details == {"floor": "3", "kind": "cover"}
    assert case.contact_phone == "13912345678" and case.contact_email == "lisi@example.com"
    assert "四" in case.contact_name and case.address == "科学城大道 9 号"
    assert "https://img.example.com/a.jpg" in case.description
    text = client.get(f"{BASE}/requests/{case.number}.json").content.decode()
    assert "13912345678" not in text and "lisi@example.com" not in text and case.contact_name not in text
    # XML answer, and the token leads to the request
    resp = _post(client, "xml", api_key=key, service_code="manhole", lat=lat, long=lng,
                 **{"attribute[floor]": "2"})
    assert resp.status_code == 201
    root = x(resp)
    number = root.find("request/service_request_id").text
    token = root.find("request/token").text
    assert j(client.get(f"{BASE}/tokens/{token}.json"))[0]["service_request_id"] == number


@needs_submit
def test_post_by_address_string(client, tree, cat, key):
    resp = _post(client, api_key=key, service_code="manhole", address_string="东渚一网格 科技城大道 3 号",
                 **{"attribute[floor]": "1"})
    assert resp.status_code == 201, resp.content
    case = Case.objects.get()
    assert (case.lat, case.lng) == tree.point(tree.grid) and case.jurisdiction == tree.grid


# ---- keys and the command -----------------------------------------------------------------------------------


def test_keys_hashed_and_revocable():
    client, raw = open311_client_create(actor=None, name="合作方")
    assert raw.startswith("o311_") and raw not in json.dumps(list(Open311Client.objects.values()), default=str)
    assert client.key_hash != raw and len(client.key_hash) == 64
    assert open311_client_authenticate(raw_key=raw) == client
    open311_client_revoke(actor=None, client=client)
    with pytest.raises(PermissionDenied) as exc:
        open311_client_authenticate(raw_key=raw)
    assert exc.value.status == 403 and exc.value.code == "api_key_revoked"
    for bad in ("o311_nope", "", "x" * 300):
        with pytest.raises(NotAuthenticated) as exc:
            open311_client_authenticate(raw_key=bad)
        assert exc.value.code == "invalid_api_key"


def test_keys_need_configure_on_every_root(tree):
    from yizhan.core.errors import OutOfJurisdiction

    with pytest.raises(PermissionDenied):
        open311_client_create(actor=make_staff("community_admin", tree.community), name="x")
    district_admin = make_staff("district_admin", tree.district)
    with pytest.raises(OutOfJurisdiction):  # keys reach every district's cases
        open311_client_create(actor=district_admin, name="x")
    assert not Open311Client.objects.exists()
    client, _ = open311_client_create(actor=make_staff("city_admin", tree.city), name="x")
    assert client.created_by is not None
    with pytest.raises(OutOfJurisdiction):
        open311_client_revoke(actor=district_admin, client=client)
    client.refresh_from_db()
    assert client.revoked_at is None


def test_open311_key_command():
    out = io.StringIO()
    call_command("open311-key", "12345热线", stdout=out)
    raw = out.getvalue().split()[-1]
    assert open311_client_authenticate(raw_key=raw).name == "12345热线"
    out = io.StringIO()
    call_command("open311-key", "12345热线", "--revoke", stdout=out)
    assert "revoked" in out.getvalue()
    assert Open311Client.objects.get().revoked_at is not None


# ---- an existing client library, unmodified, against the live server -------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_client_library(live_server, fmt, monkeypatch):
    """``georeport`` (PyPI; GET only) reads our services, definitions and requests in
    both formats. Posting is done as every GeoReport client does it: a form POST."""
    from django.db import connections

    # the live server's request threads must not keep PostgreSQL sessions open past the test
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    georeport = pytest.importorskip("georeport")
    requests = pytest.importorskip("requests")
    tree = make_jurisdiction_tree()
    make_category("manhole", name="井盖缺失", extra_fields=[FLOOR, KIND])
    _client, key = open311_client_create(actor=None, name="georeport")
    case = _case(tree, Case._meta.get_field("category").related_model.objects.get(code="manhole"))
    api = georeport.GeoReport(f"{live_server.url}/open311/v2/", api_key=key, output_format=fmt)

    services_ = api.get_service_list()
    if fmt == "xml":  # xmltodict: a lone element is a dict, not a list
        services_ = [services_] if isinstance(services_, dict) else services_
    assert [s["service_code"] for s in services_] == ["manhole"]
    definition = api.get_service_definition("manhole")
    attrs = definition["attributes"] if fmt == "json" else definition["attributes"]["attribute"]
    assert [a["code"] for a in attrs] == ["floor", "kind"]
    found = api.get_service_requests(service_code="manhole", status="open")
    found = [found] if isinstance(found, dict) else found
    assert [r["service_request_id"] for r in found] == [case.number]
    one = api.get_service_request(case.number)
    assert one["service_request_id"] == case.number and one["status"] == "open"
    with pytest.raises(requests.HTTPError) as exc:
        api.get_service_request("19990101-000000")
    assert exc.value.response.status_code == 404
    del exc  # its traceback holds the response, whose socket keeps a server thread waiting

    if HAS_SUBMIT:
        _post_as_a_generic_client(api, key, tree, fmt, requests)
    _wait_for_server_threads()


def _post_as_a_generic_client(api, key, tree, fmt, requests):
    lat, lng = tree.point(tree.grid)
    resp = requests.post(f"{api.root_address}/requests.{fmt}", data={
        "api_key": key, "service_code": "manhole", "lat": lat, "long": lng, "attribute[floor]": "2",
        "description": "井盖缺失", "email": "a@example.com"}, timeout=30)
    assert resp.status_code == 201, resp.text
    number = resp.json()[0]["service_request_id"] if fmt == "json" else ET.fromstring(resp.content).find(
        "request/service_request_id").text
    resp.close()
    assert api.get_service_request(number)["service_code"] == "manhole"


def _wait_for_server_threads(timeout: float = 10.0) -> None:
    """Every response is closed, so the live server's request threads end now rather
    than after the database they share has gone (an in-memory SQLite connection)."""
    import gc
    import threading
    import time

    gc.collect()
    deadline = time.monotonic() + timeout
    for t in threading.enumerate():
        if "process_request_thread" in t.name:
            t.join(max(0.0, deadline - time.monotonic()))


@needs_submit
def test_media_upload_idempotency_and_published_media_url(client, tree, cat, key):
    from yizhan.reports.tests.factories import photo_upload

    lat, lng = tree.point(tree.grid)
    data = {"api_key": key, "service_code": "manhole", "lat": lat, "long": lng, "attribute[floor]": "1",
            "media": photo_upload()}
    resp = client.post(f"{BASE}/requests.json", data, headers={"Idempotency-Key": "retry-1"})
    assert resp.status_code == 201, resp.content
    case = Case.objects.get()
    photo = case.photos.get()
    # the same request again (a retry on a bad network): the same case, 200
    data["media"] = photo_upload()
    again = client.post(f"{BASE}/requests.json", data, headers={"Idempotency-Key": "retry-1"})
    assert again.status_code == 200 and j(again)[0]["service_request_id"] == case.number
    assert Case.objects.count() == 1
    # unpublished photos never show; once approved (redacted copy) they do
    (r,) = j(client.get(f"{BASE}/requests/{case.number}.json"))
    assert r["media_url"] == ""
    services.case_photo_approve(actor=make_staff("community_admin", tree.community), photo=photo)
    photo.refresh_from_db()
    (r,) = j(client.get(f"{BASE}/requests/{case.number}.json"))
    assert r["media_url"] == f"http://testserver{photo.public_image.url}"
    (u,) = j(client.get(f"{BASE}/servicerequestupdates.json"))
    assert u["service_request_id"] == case.number and u["media_url"] == r["media_url"]
    assert u["description"] == "上报"
