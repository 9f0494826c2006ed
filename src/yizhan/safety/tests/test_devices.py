"""Devices: services (GB address, component points, bulk), the API and its matrix."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st_

from yizhan.core.errors import OutOfJurisdiction, PermissionDenied
from yizhan.core.testing.factories import bearer
from yizhan.safety import errors as E
from yizhan.safety.models import Device
from yizhan.safety.services.devices import (
    device_bulk_register,
    device_create,
    device_disable,
    device_update,
    gb_address_text,
    parse_gb_address,
)

pytestmark = pytest.mark.django_db

API = "/api/v1/safety/devices"


@pytest.mark.parametrize("value, expected", [
    ("000012345678", 0x000012345678), ("0x0000_1234_5678", 0x12345678), ("00:00:12:34:56:78", 0x12345678),
    ("ffffffffffff", 2**48 - 1), (0x12345678, 0x12345678), (0, 0), ("", None), (None, None),
])
def test_gb_address_forms(value, expected):
    assert parse_gb_address(value) == expected


@pytest.mark.parametrize("value", ["12345678", "0000123456789", "00001234567g", 2**48, -1, True, 1.5, [1]])
def test_gb_address_refused(value):
    with pytest.raises(E.InvalidGbAddress):
        parse_gb_address(value)


@given(st_.integers(min_value=0, max_value=2**48 - 1))
def test_gb_address_text_round_trips(n):
    assert parse_gb_address(gb_address_text(n)) == n and len(gb_address_text(n)) == 12


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st_.one_of(st_.text(max_size=30), st_.integers(), st_.floats(allow_nan=True), st_.none(), st_.booleans()))
def test_gb_address_never_crashes(value):
    try:
        result = parse_gb_address(value)
    except E.InvalidGbAddress:
        return
    assert result is None or 0 <= result < 2**48


def test_create_copies_the_place_jurisdiction(safety_tree):
    st = safety_tree
    d = device_create(actor=st.manager, data={"code": "D-1", "kind": "烟感", "place": "T-RH-1", "floor": "2",
                                              "room": "201", "heartbeat_interval": "120", "battery": 88})
    assert (d.kind, d.jurisdiction, d.heartbeat_interval, d.status) == ("smoke", st.tree.community, 120, "new")
    t = device_create(actor=st.manager, data={"code": "UITD-2", "kind": "transmitter", "place": st.centre.code,
                                              "gb_address": "0000ABCDEF01"})
    assert t.gb_address == 0xABCDEF01
    c = device_create(actor=st.manager, data={"code": "PT-2", "kind": "component", "place": "T-BLD-1",
                                              "transmitter": "UITD-2", "gb_sys_type": 1, "gb_sys_addr": 0,
                                              "gb_comp_type": 40, "gb_comp_addr": 7})
    assert c.transmitter == t
    with pytest.raises(E.ComponentPointTaken):
        device_create(actor=st.manager, data={"code": "PT-3", "kind": "component", "place": "T-BLD-1",
                                              "transmitter": "UITD-2", "gb_sys_type": 1, "gb_sys_addr": 0,
                                              "gb_comp_type": 41, "gb_comp_addr": 7})


@pytest.mark.parametrize("data, error", [
    ({"kind": "toaster"}, E.InvalidDeviceKind),
    ({"place": "NOPE"}, E.PlaceNotFound),
    ({"heartbeat_interval": 5}, E.InvalidNumber),
    ({"battery": 101}, E.InvalidNumber),
    ({"code": "T-SMOKE-1"}, E.DeviceCodeTaken),
    ({"kind": "transmitter"}, E.InvalidGbAddress),  # a transmitter needs its address
    ({"kind": "transmitter", "gb_address": "000012345678"}, E.GbAddressTaken),  # the fixture's
    ({"kind": "component", "transmitter": "T-SMOKE-1", "gb_sys_type": 1, "gb_sys_addr": 0, "gb_comp_type": 1,
      "gb_comp_addr": 1}, E.InvalidTransmitter),
    ({"kind": "component", "transmitter": "T-UITD-1"}, E.InvalidComponentPoint),
    ({"gb_address": "000012345679"}, E.InvalidGbAddress),  # only transmitters carry one
    ({"installed_on": "yesterday"}, Exception),
])
def test_bad_input_writes_nothing(safety_tree, data, error):
    before = Device.objects.count()
    with pytest.raises(error):
        device_create(actor=safety_tree.manager, data={"code": "D-X", "kind": "smoke", "place": "T-RH-1", **data})
    assert Device.objects.count() == before


def test_permissions_and_update(safety_tree):
    st = safety_tree
    with pytest.raises(PermissionDenied):
        device_create(actor=st.grid_worker, data={"code": "D-2", "kind": "smoke", "place": "T-RH-1"})
    with pytest.raises(OutOfJurisdiction):
        device_create(actor=st.other_manager, data={"code": "D-2", "kind": "smoke", "place": "T-RH-1"})
    with pytest.raises(OutOfJurisdiction):
        device_update(actor=st.manager, device=st.other_device, data={"room": "1"})
    d = device_update(actor=st.manager, device=st.smoke, data={"code": "NEW", "kind": "gas", "room": "302"})
    assert (d.code, d.kind, d.room) == ("T-SMOKE-1", "smoke", "302")
    d = device_disable(actor=st.manager, device=d)
    assert d.status == "disabled" and d.offline_due_at is None
    assert device_disable(actor=st.manager, device=d, disabled=False).status == "new"


def test_bulk_is_all_or_nothing(safety_tree):
    st = safety_tree
    items = [{"code": f"B-{i:03d}", "kind": "smoke", "place": "T-RH-1", "room": str(100 + i)} for i in range(30)]
    devices = device_bulk_register(actor=st.manager, items=items)
    assert len(devices) == 30 and all(d.jurisdiction_id == st.tree.community.pk for d in devices)
    bad = [{"code": "C-1", "kind": "smoke", "place": "T-RH-1"}, {"code": "C-2", "kind": "smoke", "place": "T-RH-B"}]
    with pytest.raises(OutOfJurisdiction) as exc:
        device_bulk_register(actor=st.manager, items=bad)
    assert exc.value.field == "items[1]"
    with pytest.raises(E.DeviceCodeTaken) as exc:
        device_bulk_register(actor=st.manager, items=[{"code": "C-3", "kind": "smoke", "place": "T-RH-1"},
                                                      {"code": "B-001", "kind": "smoke", "place": "T-RH-1"}])
    assert exc.value.field == "items[1].code"
    assert not Device.objects.filter(code__startswith="C-").exists()


def test_api_matrix(safety_tree, client):
    st = safety_tree
    r = client.get(API, {"kind": "smoke"}, headers=bearer(st.manager))
    assert r.status_code == 200 and [d["code"] for d in r.json()["items"]] == ["T-SMOKE-1"]
    r = client.get(API, {"place": "T-UITD-1"}, headers=bearer(st.manager))
    assert r.json()["count"] == 0
    r = client.get(f"{API}/{st.transmitter.pk}", headers=bearer(st.duty_officer))
    assert r.status_code == 200 and r.json()["gb_address"] == "000012345678"
    assert client.get(API, {"kind": "x"}, headers=bearer(st.manager)).status_code == 400
    assert client.get(API, {"status": "x"}, headers=bearer(st.manager)).json()["code"] == "invalid_filter"
    assert client.get(f"{API}/{st.other_device.pk}", headers=bearer(st.manager)).status_code == 404
    assert client.get(API).status_code == 401
    body = {"code": "API-1", "kind": "gas", "place": "T-RH-1"}
    assert client.post(API, body, content_type="application/json", headers=bearer(st.grid_worker)).status_code == 403
    assert client.post(API, body, content_type="application/json", headers=bearer(st.other_manager)).status_code == 403
    r = client.post(API, {**body, "battery": "lots"}, content_type="application/json", headers=bearer(st.manager))
    assert r.status_code == 400 and r.json()["field"] == "battery" and r.json()["message"]["zh"]
    r = client.post(API, body, content_type="application/json", headers=bearer(st.manager))
    assert r.status_code == 201 and r.json()["jurisdiction"] == st.tree.community.code
    r = client.patch(f"{API}/{r.json()['id']}", {"location_text": "厨房"}, content_type="application/json",
                     headers=bearer(st.manager))
    assert r.status_code == 200 and r.json()["location_text"] == "厨房"
    r = client.post(f"{API}/bulk", {"items": [{"code": "API-2", "kind": "smoke", "place": "T-RH-1"}]},
                    content_type="application/json", headers=bearer(st.manager))
    assert r.status_code == 201 and r.json()["codes"] == ["API-2"]
    r = client.post(f"{API}/{st.smoke.pk}/disable", headers=bearer(st.manager))
    assert r.status_code == 200 and r.json()["status"] == "disabled"
