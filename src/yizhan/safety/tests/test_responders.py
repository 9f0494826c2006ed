"""Responders: registering (managers, in scope), duty on/off with a position (the phone's,
else the station's), position updates, the list for duty officers; API with the
permission matrix and bad input."""

from __future__ import annotations

import pytest

from yizhan.core.models import AuditLog
from yizhan.core.testing.factories import make_user, make_worker
from yizhan.core.testing.matrix import api_json, assert_error, check_matrix
from yizhan.safety import errors as E
from yizhan.safety.models import Responder
from yizhan.safety.services import responders as svc

pytestmark = pytest.mark.django_db


def _rows():
    return list(Responder.objects.order_by("pk").values())


def test_register_a_station_member(safety_tree):
    st = safety_tree
    person = make_user(display_name="新队员")
    r = svc.responder_register(actor=st.manager, user=person, kind="micro_station", jurisdiction=st.tree.community,
                               station=st.station.code, on_duty=True)
    assert r.station == st.station and (r.lat, r.lng) == (st.station.lat, st.station.lng) and r.on_duty
    assert AuditLog.objects.filter(summary=f"responder {person.pk} micro_station").exists()
    with pytest.raises(E.ResponderExists):
        svc.responder_register(actor=st.manager, user=person, kind="grid_worker", jurisdiction=st.tree.community)
    with pytest.raises(E.InvalidResponderKind):
        svc.responder_register(actor=st.manager, user=make_user(), kind="firefighter", jurisdiction=st.tree.community)
    with pytest.raises(E.NotAStation):
        svc.responder_register(actor=st.manager, user=make_user(), kind="micro_station",
                               jurisdiction=st.tree.community, station=st.rental_house.code)
    with pytest.raises(E.ResponderUserNotFound):
        svc.responder_register(actor=st.manager, user=999999, kind="grid_worker", jurisdiction=st.tree.community)


def test_duty_on_and_off(safety_tree):
    st = safety_tree
    r = svc.responder_duty_set(actor=st.grid_worker, on_duty=False)
    assert not r.on_duty
    with pytest.raises(E.PositionRequired):  # a grid worker has no station to fall back on
        svc.responder_duty_set(actor=st.grid_worker, on_duty=True)
    r = svc.responder_duty_set(actor=st.grid_worker, on_duty=True, lat=31.33, lng=120.38)
    assert r.on_duty and (r.lat, r.lng) == (31.33, 120.38) and r.position_at
    # a station member without a phone position is at the station
    Responder.objects.filter(user=st.station_member).update(on_duty=False, lat=None, lng=None)
    r = svc.responder_duty_set(actor=st.station_member, on_duty=True)
    assert (r.lat, r.lng) == (st.station.lat, st.station.lng)
    with pytest.raises(E.ResponderNotFound):
        svc.responder_duty_set(actor=st.duty_officer, on_duty=True, lat=31.3, lng=120.4)
    r = svc.responder_position_update(actor=st.grid_worker, lat=31.331, lng=120.381)
    assert Responder.objects.get(pk=r.pk).lat == 31.331


def test_api_duty_and_position(safety_tree, client):
    st = safety_tree
    check_matrix(client, "post", "/api/v1/safety/responders/me/duty", {"on_duty": False},
                 wrong_role=None, allowed=st.grid_worker)
    client.force_login(st.grid_worker)
    before = _rows()
    assert_error(api_json(client, "post", "/api/v1/safety/responders/me/duty", {"on_duty": True}), 400,
                 "position_required", field="lat")
    assert_error(api_json(client, "post", "/api/v1/safety/responders/me/duty",
                          {"on_duty": True, "lat": 200, "lng": 120}), 400)
    assert_error(api_json(client, "post", "/api/v1/safety/responders/me/position", {"lat": 31.3}), 400)
    assert _rows() == before
    resp = api_json(client, "post", "/api/v1/safety/responders/me/duty", {"on_duty": True, "lat": 31.3, "lng": 120.4})
    assert resp.status_code == 200 and resp.json()["on_duty"] is True
    resp = api_json(client, "post", "/api/v1/safety/responders/me/position", {"lat": 31.301, "lng": 120.401})
    assert resp.json()["lat"] == 31.301
    me = client.get("/api/v1/safety/responders/me").json()
    assert me["responder"]["kind"] == "grid_worker" and me["assignments"] == []
    client.force_login(make_worker())
    assert_error(api_json(client, "post", "/api/v1/safety/responders/me/duty", {"on_duty": False}), 404,
                 "responder_not_found")


def test_api_list_and_register(safety_tree, client):
    st = safety_tree
    resp = check_matrix(client, "get", "/api/v1/safety/responders", wrong_role=[make_worker(), st.grid_worker],
                        allowed=st.duty_officer)
    assert resp.json()["count"] == 2
    client.force_login(st.other_manager)
    assert client.get("/api/v1/safety/responders").json()["count"] == 0
    client.force_login(st.duty_officer)
    assert client.get("/api/v1/safety/responders?on_duty=false").json()["count"] == 0

    person = make_user(display_name="新网格员")
    body = {"user": person.pk, "kind": "grid_worker", "jurisdiction": st.tree.community.code,
            "lat": 31.33, "lng": 120.37, "on_duty": True}
    resp = check_matrix(client, "post", "/api/v1/safety/responders", body,
                        wrong_role=[make_worker(), st.duty_officer], wrong_jurisdiction=st.other_manager,
                        allowed=st.manager, snapshot=_rows)
    assert resp.status_code == 201 and resp.json()["on_duty"] is True
    client.force_login(st.manager)
    before = _rows()
    assert_error(api_json(client, "post", "/api/v1/safety/responders", body), 409, "responder_exists", field="user")
    assert_error(api_json(client, "post", "/api/v1/safety/responders", {**body, "user": make_user().pk,
                                                                         "kind": "x"}), 400, "invalid_responder_kind")
    assert_error(api_json(client, "post", "/api/v1/safety/responders", {**body, "jurisdiction": "NOPE"}), 400,
                 "unknown_jurisdiction", field="jurisdiction")
    assert_error(api_json(client, "post", "/api/v1/safety/responders", {"kind": "grid_worker"}), 400)
    assert _rows() == before
