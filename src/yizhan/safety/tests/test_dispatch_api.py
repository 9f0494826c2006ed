"""Dispatch API: lists and details in scope, the assignment steps (only one's own), bad
input (4xx with the error shape, nothing written), the monthly report with its
percentiles per community, and the month boundaries in China time."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from yizhan.core.testing.factories import make_staff, make_worker
from yizhan.core.testing.matrix import api_json, assert_error, check_matrix
from yizhan.core.tz import SHANGHAI
from yizhan.safety.choices import AlarmKind, AlarmState
from yizhan.safety.models import Alarm, Assignment, Dispatch
from yizhan.safety.selectors.dispatch import percentile
from yizhan.safety.services import dispatch as svc
from yizhan.safety.tests.dispatch_kit import make_alarm, make_responder

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(safety_tree):
    st = safety_tree
    st.alarm = make_alarm(st.smoke, kind=AlarmKind.SMOKE)
    st.dispatch = svc.dispatch_start(alarm=st.alarm)
    st.mine = Assignment.objects.get(dispatch=st.dispatch, responder__user=st.grid_worker)
    st.theirs = Assignment.objects.get(dispatch=st.dispatch, responder__user=st.station_member)
    st.other_responder = make_responder(st.tree.other_community, st.other_place.lat, st.other_place.lng,
                                        name="龙惠网格员")
    return st


def _snapshot():
    return (list(Assignment.objects.order_by("pk").values()), list(Dispatch.objects.order_by("pk").values()))


def test_dispatch_list_and_detail_are_scoped(live, client):
    st = live
    url = "/api/v1/safety/dispatches"
    resp = check_matrix(client, "get", url, wrong_role=make_worker(), allowed=st.duty_officer)
    body = resp.json()
    assert body["count"] == 1
    item = body["items"][0]
    assert item["id"] == st.dispatch.pk and item["state"] == "open" and item["wave"] == 1
    assert item["place"]["name"] == st.rental_house.name and len(item["assignments"]) == 2
    assert {a["responder"]["name"] for a in item["assignments"]} == {"网格员", "微站队员"}
    client.force_login(st.other_manager)
    assert client.get(url).json()["count"] == 0
    client.force_login(st.duty_officer)
    assert client.get(url + "?state=active").json()["count"] == 1
    assert client.get(url + "?state=resolved").json()["count"] == 0
    assert_error(client.get(url + "?state=nonsense"), 400, "invalid_filter", field="state")
    assert_error(client.get(url + "?limit=0"), 400)
    check_matrix(client, "get", f"{url}/{st.dispatch.pk}", wrong_role=make_worker(),
                 wrong_jurisdiction=st.other_manager, allowed=st.duty_officer)
    assert_error(client.get(f"{url}/999999"), 404, "dispatch_not_found")


def test_assignment_steps_only_on_ones_own(live, client):
    st = live
    url = f"/api/v1/safety/assignments/{st.mine.pk}/acknowledge"
    resp = check_matrix(client, "post", url, {}, wrong_role=make_worker(),
                        wrong_jurisdiction=[st.station_member, st.other_responder.user],
                        allowed=st.grid_worker, snapshot=_snapshot)
    body = resp.json()
    assert body["state"] == "acknowledged" and body["acknowledged_at"] and body["dispatch_state"] == "open"
    # the duty officer sees it but cannot press the responder's button
    client.force_login(st.duty_officer)
    before = _snapshot()
    assert_error(api_json(client, "post", f"/api/v1/safety/assignments/{st.mine.pk}/en_route", {}), 403,
                 "permission_denied")
    assert _snapshot() == before


def test_assignment_bad_input(live, client):
    st = live
    h = st.rental_house
    client.force_login(st.grid_worker)
    base = f"/api/v1/safety/assignments/{st.mine.pk}"
    before = _snapshot()
    assert_error(api_json(client, "post", f"{base}/explode", {}), 400, "invalid_assignment_action", field="action")
    assert_error(api_json(client, "post", f"{base}/arrive", {}), 400, "position_required", field="lat")
    assert_error(api_json(client, "post", f"{base}/arrive", {"lat": "abc", "lng": 1}), 400)
    assert_error(api_json(client, "post", f"{base}/arrive", {"lat": 95, "lng": 120}), 400)
    assert_error(api_json(client, "post", f"{base}/arrive", {"lat": h.lat - 0.01, "lng": h.lng}), 400,
                 "too_far_from_place", field="lat")
    assert_error(api_json(client, "post", f"{base}/resolve", {"outcome": "false_alarm"}), 409,
                 "invalid_assignment_transition")
    assert_error(api_json(client, "post", "/api/v1/safety/assignments/999999/acknowledge", {}), 404,
                 "assignment_not_found")
    assert _snapshot() == before
    resp = api_json(client, "post", f"{base}/arrive", {"lat": h.lat, "lng": h.lng})
    assert resp.status_code == 200 and resp.json()["dispatch_state"] == "on_scene"
    assert_error(api_json(client, "post", f"{base}/resolve", {}), 400, "outcome_required", field="outcome")
    assert_error(api_json(client, "post", f"{base}/resolve", {"outcome": "arson"}), 400, "invalid_outcome")
    resp = api_json(client, "post", f"{base}/resolve", {"outcome": "test", "note": "消防演练"})
    assert resp.status_code == 200 and resp.json()["dispatch_state"] == "resolved"
    st.theirs.refresh_from_db()
    assert st.theirs.state == "stood_down"
    assert_error(api_json(client, "post", f"{base}/resolve", {"outcome": "test"}), 409,
                 "invalid_assignment_transition")


def test_confirm_fire_api(live, client, monkeypatch):
    st = live
    monkeypatch.setattr(svc, "start_forward_thread", lambda pk: None)
    url = f"/api/v1/safety/dispatches/{st.dispatch.pk}/confirm_fire"
    resp = check_matrix(client, "post", url, {}, wrong_role=make_worker(), wrong_jurisdiction=st.other_manager,
                        allowed=st.duty_officer)
    assert resp.json()["forward_119_status"] == "pending"


# ---- the monthly report ---------------------------------------------------------------------


def _past(device, *, alarm_at, arrive_after=None, ack_after=None, outcome="false_alarm", wave=1):
    alarm = Alarm.objects.create(device=device, place=device.place, jurisdiction=device.jurisdiction,
                                 kind=AlarmKind.SMOKE, severity="critical", rank=0, started_at=alarm_at,
                                 last_triggered_at=alarm_at, state=AlarmState.CLEARED, open=False)
    return Dispatch.objects.create(
        alarm=alarm, jurisdiction=device.jurisdiction, created_at_alarm=alarm_at, notified_at=alarm_at,
        first_ack_at=alarm_at + timedelta(seconds=ack_after) if ack_after is not None else None,
        first_arrived_at=alarm_at + timedelta(seconds=arrive_after) if arrive_after is not None else None,
        state="resolved", outcome=outcome, resolved_at=alarm_at + timedelta(minutes=20), wave=wave)


@pytest.fixture
def november(safety_tree):
    st = safety_tree
    t = datetime(2026, 11, 10, 9, 0, tzinfo=SHANGHAI)
    for i, (arrive, ack) in enumerate([(60, 5), (120, 8), (170, 12), (400, 30), (None, None)]):
        _past(st.smoke, alarm_at=t + timedelta(hours=i), arrive_after=arrive, ack_after=ack, wave=2 if i == 4 else 1)
    _past(st.other_device, alarm_at=t, arrive_after=100, ack_after=4, outcome="real_fire")
    # 23:30 on 31 October in China is 15:30 UTC the same day: October's, not November's
    _past(st.smoke, alarm_at=datetime(2026, 10, 31, 23, 30, tzinfo=SHANGHAI), arrive_after=10)
    # 00:10 on 1 December in China: December's
    _past(st.smoke, alarm_at=datetime(2026, 12, 1, 0, 10, tzinfo=SHANGHAI), arrive_after=10)
    return st


def test_percentile_is_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([60, 120, 170, 400], 50) == 120
    assert percentile([60, 120, 170, 400], 90) == 400
    assert percentile([5], 90) == 5
    assert percentile(list(range(1, 101)), 90) == 90


def test_monthly_report_per_community(november, client):
    st = november
    street = make_staff("duty_officer", st.tree.street)
    client.force_login(street)
    body = client.get("/api/v1/safety/reports/monthly?month=2026-11").json()
    assert body["month"] == "2026-11" and body["target_seconds"] == 180
    rows = {r["community"]["code"]: r for r in body["communities"]}
    a = rows[st.tree.community.code]
    assert a["count"] == 5 and a["arrived"] == 4 and a["on_site_3min"] == 3
    assert a["on_site_3min_share"] == 0.6  # the one nobody reached counts as missed
    assert (a["arrival_p50_s"], a["arrival_p90_s"]) == (120, 400)
    assert (a["ack_p50_s"], a["ack_p90_s"]) == (8, 30)
    assert a["escalated"] == 1 and a["outcomes"]["false_alarm"] == 5
    b = rows[st.tree.other_community.code]
    assert b["count"] == 1 and b["on_site_3min_share"] == 1.0 and b["outcomes"]["real_fire"] == 1
    assert body["total"]["count"] == 6 and body["total"]["on_site_3min"] == 4
    # October's and December's edges
    assert client.get("/api/v1/safety/reports/monthly?month=2026-10").json()["total"]["count"] == 1
    assert client.get("/api/v1/safety/reports/monthly?month=2026-12").json()["total"]["count"] == 1
    # the community's duty officer sees only community A
    client.force_login(st.duty_officer)
    codes = [r["community"]["code"] for r in client.get("/api/v1/safety/reports/monthly?month=2026-11")
             .json()["communities"]]
    assert codes == [st.tree.community.code]


def test_monthly_report_matrix_and_bad_month(november, client):
    st = november
    check_matrix(client, "get", "/api/v1/safety/reports/monthly?month=2026-11",
                 wrong_role=[make_worker(), st.grid_worker], allowed=st.manager)
    client.force_login(st.manager)
    for bad in ("", "2026-13", "2026/11", "abcd-ef", "1999-01"):
        assert_error(client.get(f"/api/v1/safety/reports/monthly?month={bad}"), 400, "invalid_month", field="month")


def test_monthly_page(november, client):
    st = november
    client.force_login(st.manager)
    resp = client.get("/safety/reports/monthly/?month=2026-11")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "月度出警报告" in html and "60.0%" in html and "2:00" in html and "6:40" in html
    client.force_login(st.grid_worker)
    assert client.get("/safety/reports/monthly/?month=2026-11").status_code == 403
    client.force_login(st.manager)
    assert client.get("/safety/reports/monthly/?month=13").status_code == 400


def test_stand_down_api(live, client):
    st = live
    url = f"/api/v1/safety/dispatches/{st.dispatch.pk}/stand_down"
    resp = check_matrix(client, "post", url, {"note": "电话核实为误报"},
                        wrong_role=[make_worker(), st.grid_worker], wrong_jurisdiction=st.other_manager,
                        allowed=st.duty_officer, snapshot=_snapshot)
    body = resp.json()
    assert body["state"] == "resolved" and body["outcome"] == "false_alarm" and body["outcome_note"] == "电话核实为误报"
    assert {a["state"] for a in body["assignments"]} == {"stood_down"}
