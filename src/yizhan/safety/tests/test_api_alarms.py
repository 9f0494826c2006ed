"""Alarms API: list/detail/acknowledge/clear and the summary, with the permission matrix."""

from __future__ import annotations

import pytest

from yizhan.core.testing.factories import make_staff, make_worker
from yizhan.core.testing.matrix import api_json, assert_error, check_matrix
from yizhan.safety.choices import AlarmKind, DeviceStatus, Severity
from yizhan.safety.models import Alarm, AlarmEvent, Device
from yizhan.safety.tests.wall_data import make_alarm

pytestmark = pytest.mark.django_db

URL = "/api/v1/safety/alarms"
CONTRACT_KEYS = {"id", "device", "kind", "severity", "state", "started_at", "acknowledged_at", "cleared_at",
                 "place", "trigger_count", "details"}


@pytest.fixture
def world(safety_tree):
    st = safety_tree
    st.fire = make_alarm(st.smoke, AlarmKind.FIRE, Severity.CRITICAL, ago=30)
    st.battery = make_alarm(st.gas, AlarmKind.LOW_BATTERY, Severity.WARNING, ago=10, details={"battery": 9})
    st.old = make_alarm(st.electrical, AlarmKind.ELECTRICAL, Severity.MAJOR, ago=600, state="cleared")
    st.other = make_alarm(st.other_device, AlarmKind.SMOKE, Severity.CRITICAL, ago=5)
    st.other_duty = make_staff("duty_officer", st.tree.other_community)
    return st


def snapshot():
    return (list(Alarm.objects.order_by("id").values()), AlarmEvent.objects.count())


def other_community_refused(client, world, url):
    """A duty officer of community B cannot see (404) nor change community A's alarm."""
    before = snapshot()
    client.force_login(world.other_duty)
    assert_error(api_json(client, "post", url, {}), 404, "alarm_not_found")
    assert snapshot() == before
    client.logout()


def test_list_fire_first_with_the_contract_fields(world, client):
    client.force_login(world.duty_officer)
    body = client.get(URL, {"state": "open"}).json()
    assert body["count"] == 2
    assert [a["id"] for a in body["items"]] == [world.fire.pk, world.battery.pk]
    fire = body["items"][0]
    assert CONTRACT_KEYS <= set(fire)
    assert fire["device"] == "T-SMOKE-1"
    assert (fire["kind"], fire["severity"], fire["state"]) == ("fire", "critical", "active")
    assert fire["acknowledged_at"] is None and fire["cleared_at"] is None
    assert fire["place"]["code"] == "T-RH-1" and fire["place"]["name"] == "东渚出租房1"
    assert fire["location"] == "3楼楼道"
    assert fire["trigger_count"] == 1
    assert fire["details"] == {"smoke_obscuration": 0.2}
    assert fire["started_at"].endswith("Z")


@pytest.mark.parametrize(("query", "expected"), [
    ({}, ["fire", "old", "battery"]),  # rank: fire, major, warning
    ({"state": "active"}, ["fire", "battery"]),
    ({"state": "cleared"}, ["old"]),
    ({"device": "T-GAS-1"}, ["battery"]),
    ({"state": "active", "device": "T-SMOKE-1"}, ["fire"]),
    ({"kind": "low_battery"}, ["battery"]),
    ({"device": "NO-SUCH"}, []),
    ({"device": "T-SMOKE-B"}, []),  # another community's device: not visible, not an error
    ({"limit": 1, "offset": 1}, ["old"]),
])
def test_list_filters(world, client, query, expected):
    client.force_login(world.duty_officer)
    body = client.get(URL, query).json()
    assert [a["id"] for a in body["items"]] == [getattr(world, name).pk for name in expected]
    if "limit" not in query:
        assert body["count"] == len(expected)
    else:
        assert body["count"] == 3


@pytest.mark.parametrize(("query", "code", "field"), [
    ({"state": "burning"}, "invalid_alarm_state", "state"),
    ({"kind": "meteor"}, "invalid_alarm_kind", "kind"),
    ({"limit": 0}, None, ...),
    ({"limit": 100000}, None, ...),
    ({"offset": -1}, None, ...),
])
def test_list_bad_input(world, client, query, code, field):
    client.force_login(world.duty_officer)
    assert_error(client.get(URL, query), 400, code, field)


def test_list_matrix_and_scope(world, client):
    check_matrix(client, "get", URL, wrong_role=make_worker(), allowed=world.duty_officer)
    client.force_login(world.other_manager)  # community B sees only B's alarm
    body = client.get(URL).json()
    assert [a["id"] for a in body["items"]] == [world.other.pk]
    assert body["count"] == 1


def test_detail(world, client):
    url = f"{URL}/{world.fire.pk}"
    resp = check_matrix(client, "get", url, wrong_role=make_worker(), allowed=world.grid_worker)
    assert resp.json()["id"] == world.fire.pk
    client.force_login(world.other_manager)  # another community's alarm does not exist for them
    assert_error(client.get(url), 404, "alarm_not_found")
    client.force_login(world.duty_officer)
    assert_error(client.get(f"{URL}/999999"), 404, "alarm_not_found")
    assert_error(client.get(f"{URL}/0"), (400, 422))
    assert_error(client.get(f"{URL}/abc"), (400, 422))


def test_acknowledge(world, client):
    url = f"{URL}/{world.fire.pk}/acknowledge"
    resp = check_matrix(client, "post", url, {"note": "已电话联系房东"},
                        wrong_role=[make_worker(), world.grid_worker], allowed=world.duty_officer, snapshot=snapshot)
    other_community_refused(client, world, url)
    body = resp.json()
    assert body["state"] == "acknowledged" and body["acknowledged_at"] and body["cleared_at"] is None
    world.fire.refresh_from_db()
    assert world.fire.acknowledged_by_id == world.duty_officer.pk
    assert world.fire.events.filter(action="acknowledge", note="已电话联系房东").exists()
    # a second acknowledgement is refused, nothing written
    client.force_login(world.duty_officer)
    before = snapshot()
    assert_error(api_json(client, "post", url, {}), 409, "invalid_alarm_transition")
    assert snapshot() == before


def test_clear(world, client):
    url = f"{URL}/{world.battery.pk}/clear"
    other_community_refused(client, world, url)
    resp = check_matrix(client, "post", url, {}, wrong_role=[make_worker(), world.grid_worker],
                        allowed=world.duty_officer, snapshot=snapshot)
    body = resp.json()
    assert body["state"] == "cleared" and body["open"] is False and body["cleared_at"]
    # cleared alarms leave the open list
    client.force_login(world.duty_officer)
    assert [a["id"] for a in client.get(URL, {"state": "open"}).json()["items"]] == [world.fire.pk]


def test_clear_bad_note_writes_nothing(world, client):
    client.force_login(world.duty_officer)
    before = snapshot()
    assert_error(api_json(client, "post", f"{URL}/{world.fire.pk}/clear", {"note": "x" * 301}), 400)
    assert_error(client.post(f"{URL}/{world.fire.pk}/clear", data="{not json", content_type="application/json"), 400)
    assert snapshot() == before


def test_summary(world, client):
    Device.objects.filter(pk__in=[world.smoke.pk, world.gas.pk]).update(status=DeviceStatus.ONLINE)
    Device.objects.filter(pk=world.electrical.pk).update(status=DeviceStatus.OFFLINE)
    Device.objects.filter(pk=world.shed_temp.pk).update(status=DeviceStatus.DISABLED)
    resp = check_matrix(client, "get", "/api/v1/safety/summary", wrong_role=make_worker(), allowed=world.duty_officer)
    assert resp.json() == {"online": 2, "offline": 1, "new": 2, "alarm": 2, "total": 5,
                           "active_alarms": 2, "unacknowledged": 2, "fire": 1}
    client.force_login(world.other_manager)
    assert client.get("/api/v1/safety/summary").json() == {
        "online": 0, "offline": 0, "new": 1, "alarm": 1, "total": 1, "active_alarms": 1, "unacknowledged": 1,
        "fire": 0}


def test_acknowledge_and_clear_without_a_body(world, client):
    """The note is optional: an empty JSON POST is enough."""
    client.force_login(world.duty_officer)
    resp = client.post(f"{URL}/{world.fire.pk}/acknowledge", content_type="application/json")
    assert resp.status_code == 200, resp.content
    assert resp.json()["state"] == "acknowledged"
    resp = client.post(f"{URL}/{world.fire.pk}/clear", data="", content_type="application/json")
    assert resp.status_code == 200, resp.content
    assert resp.json()["state"] == "cleared"
    assert list(world.fire.events.values_list("action", flat=True)) == ["acknowledge", "clear"]
