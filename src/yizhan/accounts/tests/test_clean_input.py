"""Issue 8 item 9: bidi overrides, zero-width and control characters were stored in
display names, wishes and station names. They are dropped at the edge (forms and API
schemas, ``core.text``) in every app."""

import pytest

from yizhan.accounts.models import ApiToken, User
from yizhan.core.testing.factories import (
    bearer,
    login_worker,
    make_jurisdiction_tree,
    make_staff,
    make_worker,
)
from yizhan.core.testing.matrix import api_json

SPOOF = "\u202e王\u200b芳\u2066\u2069\x07\x1b\x7f"  # shows reversed, hides characters, breaks logs
# (a NUL byte is refused before any form or schema: invalid_characters, core.middleware)


@pytest.fixture
def tree(db):
    return make_jurisdiction_tree()


def test_display_name_api(client, tree):
    worker = login_worker(client)
    resp = api_json(client, "patch", "/api/v1/accounts/me",
                    {"display_name": SPOOF, "platform": "美\u200d团", "skills": ["搬\u202e运"]})
    assert resp.status_code == 200, resp.content
    assert resp.json()["display_name"] == "王芳"
    worker.refresh_from_db()
    assert worker.display_name == "王芳" and worker.worker_profile.platform == "美团"
    assert worker.worker_profile.skills == ["搬运"]


def test_display_name_page(client, tree):
    worker = make_worker()
    client.force_login(worker)
    resp = client.post("/accounts/me/", {"trade": "courier", "display_name": SPOOF, "platform": "\u200b顺丰"})
    assert resp.status_code == 200
    worker.refresh_from_db()
    assert worker.display_name == "王芳" and worker.worker_profile.platform == "顺丰"


def test_token_name_of_only_invisible_characters_is_refused(client, tree):
    staff = make_staff("community_admin", tree.community)
    resp = api_json(client, "post", "/api/v1/accounts/tokens", {"name": "\u200b\u202e\u2060"}, headers=bearer(staff))
    assert resp.status_code == 400 and resp.json()["code"] == "invalid_name" and resp.json()["field"] == "name"
    assert ApiToken.objects.filter(user=staff, name__startswith="\u200b").count() == 0


def test_wish_text_api(client, tree):
    from yizhan.needs.models import Wish

    worker = make_worker()
    resp = client.post("/api/v1/needs/wishes", data={"text": f"希望{SPOOF}有微波炉\r\n谢谢",
                                                     "jurisdiction": tree.community.code},
                       content_type="application/json", headers=bearer(worker))
    assert resp.status_code == 201, resp.content
    assert Wish.objects.get().text == "希望王芳有微波炉\n谢谢"


def test_wish_text_page(client, tree):
    from yizhan.needs.models import Wish

    client.force_login(make_worker())
    resp = client.post("/needs/wishes/new/", {"text": f"希望{SPOOF}有微波炉", "jurisdiction": tree.community.code})
    assert resp.status_code in (200, 302), resp.content[:500]
    assert Wish.objects.get().text == "希望王芳有微波炉"


def test_station_name_api(client, tree):
    from yizhan.stations.models import Station
    from yizhan.stations.tests.factories import make_station

    station = make_station(tree.community, code="KX-001")
    admin = make_staff("community_admin", tree.community)
    resp = api_json(client, "patch", f"/api/v1/stations/{station.code}",
                    {"name": f"东渚{SPOOF}驿站", "address": "科学城路\u200b1号", "description": "第一行\u202e\n第二行"},
                    headers=bearer(admin))
    assert resp.status_code == 200, resp.content
    station = Station.objects.get(pk=station.pk)
    assert (station.name, station.address, station.description) == ("东渚王芳驿站", "科学城路1号", "第一行\n第二行")


def test_station_name_of_only_invisible_characters_writes_nothing(client, tree):
    from yizhan.stations.models import Station
    from yizhan.stations.tests.factories import make_station

    station = make_station(tree.community, code="KX-001", name="东渚驿站")
    admin = make_staff("community_admin", tree.community)
    resp = api_json(client, "patch", f"/api/v1/stations/{station.code}", {"name": "\u202e\u200b"}, headers=bearer(admin))
    body = resp.json()
    assert resp.status_code == 400 and set(body) >= {"code", "message", "field"} and body["field"] == "name"
    assert Station.objects.get(pk=station.pk).name == "东渚驿站"


def test_staff_display_name_api(client, tree):
    from yizhan.core.testing.factories import make_superuser

    root = make_superuser()
    resp = api_json(client, "post", "/api/v1/accounts/staff",
                    {"username": "clerk1", "display_name": SPOOF, "password": "A-long-pass-123",
                     "role": "grid_worker", "jurisdiction": tree.grid.code}, headers=bearer(root))
    assert resp.status_code == 201, resp.content
    assert User.objects.get(username="clerk1").display_name == "王芳"


def test_station_import_cleans_names(tree):
    """A spreadsheet is an edge too: names and keepers' names from an import are cleaned."""
    from yizhan.stations.imports import stations_import
    from yizhan.stations.models import Station
    from yizhan.stations.tests.test_imports import HEADER, csv_bytes

    admin = make_staff("street_admin", tree.street)
    row = ["KX-009", f"东渚{SPOOF}驿站", "驿站", "石阳路\u200b 18 号", 31.34, 120.38, tree.community.code, "", "",
           f"{SPOOF}站长", "13912345678", ""]
    report = stations_import(actor=admin, file_name="s.csv", content=csv_bytes(HEADER, [row]))
    assert report.ok, report.rows
    station = Station.objects.get(code="KX-009")
    assert (station.name, station.address) == ("东渚王芳驿站", "石阳路 18 号")
    assert User.objects.get(phone="13912345678").display_name == "王芳站长"


def test_open311_post_cleans_texts(client, tree):
    """Open311 clients post form fields past the ninja schemas: cleaned there too."""
    from yizhan.reports.models import Case
    from yizhan.reports.services.open311 import open311_client_create
    from yizhan.reports.tests.factories import make_category, make_department

    make_department(jurisdiction=tree.district, code="urban", name="城市管理局")
    make_category("rubbish", name="暴露垃圾", handle_minutes=240)
    make_staff("community_admin", tree.community)
    _client, key = open311_client_create(actor=None, name="12345热线")
    lat, lng = tree.point(tree.grid)
    resp = client.post("/open311/v2/requests.json", {
        "api_key": key, "service_code": "rubbish", "lat": lat, "long": lng,
        "description": f"垃圾{SPOOF}没人收\r\n第二行", "first_name": f"{SPOOF}", "last_name": "李\u200b",
        "address_string": "科学城\u202e大道 9 号", "phone": "13912345678"})
    assert resp.status_code == 201, resp.content
    case = Case.objects.get()
    assert case.description == "垃圾王芳没人收\n第二行" and case.address == "科学城大道 9 号"
    assert case.contact_name == "王芳 李"
