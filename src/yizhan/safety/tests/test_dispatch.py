"""Dispatch: nearest responders by travel time, notifications, escalation at 15 s / 60 s
(time injected, no sleeps), the four steps with the arrival check, outcomes, the hazard
case, the dispatch's timestamps and state, and who may act."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import TestCase

from yizhan.core.errors import AppError
from yizhan.core.models import AuditLog, Notification, OutboundMessage
from yizhan.core.testing.factories import make_staff, make_worker
from yizhan.safety import errors as E
from yizhan.safety.choices import AlarmKind, AssignmentState, DispatchState, ResponderKind
from yizhan.safety.models import Assignment, AssignmentEvent, Dispatch
from yizhan.safety.services import dispatch as svc
from yizhan.safety.tests.dispatch_kit import (
    fire_hazard_category,
    make_alarm,
    make_responder,
    offset,
    png,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(safety_tree):
    """Five more responders north of the rental house (300 m … 1 km), one off duty next
    door, one centre staff next door, a street duty officer (the centre)."""
    st = safety_tree
    h = st.rental_house
    a = st.tree.community
    st.near = make_responder(a, *offset(h.lat, h.lng, 300), name="三百米")
    st.mid = make_responder(a, *offset(h.lat, h.lng, 600), name="六百米")
    st.far = make_responder(a, *offset(h.lat, h.lng, 1000), name="一公里")
    st.farther = make_responder(a, *offset(h.lat, h.lng, 1500), name="一点五公里")
    st.off = make_responder(a, *offset(h.lat, h.lng, 10), on_duty=False, name="下岗")
    st.centre_staff = make_responder(st.tree.street, *offset(h.lat, h.lng, 5), kind=ResponderKind.CENTRE, role="duty_officer",
                                     name="中心值班")
    st.street_officer = make_staff("duty_officer", st.tree.street, display_name="街道中心")
    return st


def _start(st, kind=AlarmKind.SMOKE, device=None):
    alarm = make_alarm(device or st.smoke, kind=kind)
    return alarm, svc.dispatch_start(alarm=alarm)


def _names(d, wave=None):
    qs = Assignment.objects.filter(dispatch=d)
    if wave:
        qs = qs.filter(wave=wave)
    return [a.responder.user.display_name for a in qs.order_by("travel_seconds")]


def test_wave_one_is_the_three_nearest_on_duty_by_travel_time(world):
    st = world
    alarm, d = _start(st)
    assert d.wave == 1 and d.state == DispatchState.OPEN and d.notified_at is not None
    assert d.created_at_alarm == alarm.started_at
    assert _names(d) == ["网格员", "三百米", "微站队员"]  # 75 m, 300 m, 445 m; not off duty, not the centre
    first = Assignment.objects.get(dispatch=d, responder__user=st.grid_worker)
    assert 60 <= first.distance_m <= 90
    # 1.3 × 75 m at 15 km/h ≈ 23 s
    assert first.travel_seconds == svc.travel_estimate(st.responders[0].lat, st.responders[0].lng,
                                                       st.rental_house.lat, st.rental_house.lng)[1]
    told = set(Notification.objects.filter(kind="safety_alarm").values_list("user__display_name", flat=True))
    assert told == {"网格员", "三百米", "微站队员", "值班员"}  # and the community's duty officer
    n = Notification.objects.get(kind="safety_alarm", user=st.grid_worker)
    assert n.url == f"/safety/respond/{first.pk}/" and "东渚出租房1" in n.title_zh and "米" in n.body_zh
    assert AssignmentEvent.objects.filter(assignment__dispatch=d, action="notify").count() == 3
    assert AuditLog.objects.filter(summary__startswith=f"dispatch alarm {alarm.pk} wave 1").exists()
    # once per alarm
    assert svc.dispatch_start(alarm=alarm).pk == d.pk
    assert Dispatch.objects.filter(alarm=alarm).count() == 1 and Assignment.objects.filter(dispatch=d).count() == 3


def test_only_fire_smoke_and_gas_are_dispatched(world):
    alarm = make_alarm(world.electrical, kind=AlarmKind.LOW_BATTERY)
    assert svc.dispatch_start(alarm=alarm) is None
    assert not Dispatch.objects.exists()
    _, d = _start(world, kind=AlarmKind.GAS, device=world.gas)
    assert d is not None


def test_sms_copies_when_the_kind_is_an_sms_kind(world, settings):
    settings.YIZHAN_NOTIFY_CHANNELS = ["sms"]
    settings.YIZHAN_NOTIFY_SMS_KINDS = ["safety_alarm"]
    settings.YIZHAN_NOTIFY_URGENT_KINDS = ["safety_alarm"]
    _, d = _start(world)
    sms = OutboundMessage.objects.filter(channel="sms", kind="safety_alarm")
    # the responders made with phones (kit) get one each
    assert sms.filter(user=world.near.user).count() == 1


def test_nobody_on_duty_tells_the_centre_at_once(world):
    from yizhan.safety.models import Responder

    Responder.objects.update(on_duty=False)
    _, d = _start(world)
    assert not Assignment.objects.filter(dispatch=d).exists()
    told = set(Notification.objects.filter(kind="safety_alarm").values_list("user__display_name", flat=True))
    assert {"值班员", "街道中心"} <= told


def test_no_acknowledgement_in_15_s_escalates_to_the_next_wave_and_the_centre(world):
    st = world
    _, d = _start(st)
    t0 = d.notified_at
    Notification.objects.all().delete()
    assert svc.dispatch_escalate_due(now=t0 + timedelta(seconds=14.9)) == 0
    assert svc.dispatch_escalate_due(now=t0 + timedelta(seconds=15)) == 1
    d.refresh_from_db()
    assert d.wave == 2 and d.escalated_at == t0 + timedelta(seconds=15)
    assert _names(d, wave=2) == ["六百米", "一公里", "一点五公里"]
    told = set(Notification.objects.filter(kind="safety_alarm").values_list("user__display_name", flat=True))
    assert {"六百米", "一公里", "一点五公里", "中心值班", "街道中心", "值班员"} <= told
    assert "网格员" not in told  # wave 1 is not told again
    escalated = Notification.objects.get(user=st.street_officer)
    assert "15秒无人接警" in escalated.title_zh
    # the same moment again: nothing more (idempotent)
    assert svc.dispatch_escalate_due(now=t0 + timedelta(seconds=15)) == 0
    # wave 2 unanswered 15 s later → wave 3 (nobody left to send: the centre again), then the bound
    assert svc.dispatch_escalate_due(now=t0 + timedelta(seconds=30)) == 1
    assert svc.dispatch_escalate_due(now=t0 + timedelta(seconds=45)) == 1
    d.refresh_from_db()
    assert d.wave == svc.MAX_WAVES
    assert svc.dispatch_escalate_due(now=t0 + timedelta(seconds=600)) == 0
    assert svc.escalation_due_at(d) is None


def test_acknowledged_but_nobody_en_route_escalates_at_60_s(world):
    st = world
    _, d = _start(st)
    t0 = d.notified_at
    a = Assignment.objects.get(dispatch=d, responder__user=st.grid_worker)
    svc.assignment_act(actor=st.grid_worker, assignment=a, action="acknowledge")
    d.refresh_from_db()
    assert d.first_ack_at is not None
    assert svc.escalation_due_at(d) == t0 + timedelta(seconds=60)
    assert svc.dispatch_escalate_due(now=t0 + timedelta(seconds=59)) == 0
    assert svc.dispatch_escalate_due(now=t0 + timedelta(seconds=60)) == 1
    d.refresh_from_db()
    assert d.wave == 2
    notice = [n for n in Notification.objects.filter(user=st.street_officer)]
    assert any("60秒无人出发" in n.title_zh for n in notice)


def test_someone_en_route_stops_escalation(world):
    st = world
    _, d = _start(st)
    a = Assignment.objects.get(dispatch=d, responder__user=st.station_member)
    svc.assignment_act(actor=st.station_member, assignment=a, action="en_route")
    d.refresh_from_db()
    assert d.first_ack_at and d.first_en_route_at  # 出发 without 接警 fills both
    assert svc.escalation_due_at(d) is None
    assert svc.dispatch_escalate_due(now=d.notified_at + timedelta(seconds=3600)) == 0


def test_due_times_for_the_timer(world):
    _, d = _start(world)
    t0 = d.notified_at
    assert svc.dispatch_due_times(until=t0 + timedelta(seconds=10)) == []
    assert svc.dispatch_due_times(until=t0 + timedelta(seconds=20)) == [t0 + timedelta(seconds=15)]


def test_the_waker_calls_back_at_the_deadline_not_at_the_next_tick():
    import threading
    import time

    from yizhan.safety.dispatch_waker import Waker

    fired = threading.Event()
    w = Waker(fn=fired.set)
    assert w.arm(time.time()) is False  # disabled until enabled (web, ingest, tests)
    w.enabled = True
    at = time.time() + 0.05
    assert w.arm(at) and not w.arm(at)  # deduplicated
    assert fired.wait(2)
    assert time.time() - at < 0.5


def test_the_job_escalates_and_arms(world, monkeypatch):
    from yizhan.safety import dispatch_waker, jobs

    armed = []
    monkeypatch.setattr(dispatch_waker, "arm_many", lambda times: armed.extend(times) or len(list(times)))
    # the job enables the process's timer: put it back as it was afterwards
    monkeypatch.setattr(dispatch_waker.WAKER, "enabled", False)
    monkeypatch.setattr(dispatch_waker.WAKER, "_fn", None)
    _, d = _start(world)
    Dispatch.objects.filter(pk=d.pk).update(notified_at=d.notified_at - timedelta(seconds=10))
    out = jobs.dispatch_escalation()
    assert out["escalated"] == 0 and len(armed) == 1  # due in 5 s: armed, not yet escalated
    assert dispatch_waker.WAKER.enabled and dispatch_waker.WAKER._fn is svc.dispatch_escalate_due


# ---- the four steps ---------------------------------------------------------------------------


def _mine(st, d, user):
    return Assignment.objects.get(dispatch=d, responder__user=user)


def test_four_steps_with_the_arrival_check_and_the_dispatch_following(world):
    st = world
    _, d = _start(st)
    h = st.rental_house
    a = _mine(st, d, st.grid_worker)
    a = svc.assignment_act(actor=st.grid_worker, assignment=a, action="acknowledge")
    assert a.state == AssignmentState.ACKNOWLEDGED and a.acknowledged_at
    a = svc.assignment_act(actor=st.grid_worker, assignment=a, action="en_route", lat=h.lat + 0.002, lng=h.lng)
    assert a.state == AssignmentState.EN_ROUTE
    st.responders[0].refresh_from_db()
    assert st.responders[0].lat == pytest.approx(h.lat + 0.002)  # the step moved the responder
    # too far (≈ 445 m): refused, nothing written
    with pytest.raises(E.TooFarFromPlace) as err:
        svc.assignment_act(actor=st.grid_worker, assignment=a, action="arrive", lat=h.lat - 0.004, lng=h.lng)
    assert err.value.field == "lat" and "米" in err.value.message.zh
    a.refresh_from_db()
    assert a.state == AssignmentState.EN_ROUTE and a.arrived_at is None
    with pytest.raises(E.PositionRequired):
        svc.assignment_act(actor=st.grid_worker, assignment=a, action="arrive")
    a = svc.assignment_act(actor=st.grid_worker, assignment=a, action="arrive", lat=h.lat + 0.001, lng=h.lng)
    assert a.state == AssignmentState.ARRIVED and 100 <= a.arrived_distance_m <= 120
    d.refresh_from_db()
    assert d.state == DispatchState.ON_SCENE and d.first_arrived_at == a.arrived_at
    assert d.first_ack_at <= d.first_en_route_at <= d.first_arrived_at
    with pytest.raises(E.OutcomeRequired):
        svc.assignment_act(actor=st.grid_worker, assignment=a, action="resolve")
    with pytest.raises(E.InvalidOutcome):
        svc.assignment_act(actor=st.grid_worker, assignment=a, action="resolve", outcome="arson")
    a = svc.assignment_act(actor=st.grid_worker, assignment=a, action="resolve", outcome="false_alarm",
                           note="厨房油烟")
    d.refresh_from_db()
    assert a.state == AssignmentState.RESOLVED and d.state == DispatchState.RESOLVED
    assert d.outcome == "false_alarm" and d.outcome_note == "厨房油烟" and d.resolved_at
    assert d.forward_119_status == ""  # not a fire
    # the others are stood down; a late one cannot act
    others = Assignment.objects.filter(dispatch=d).exclude(pk=a.pk)
    assert set(others.values_list("state", flat=True)) == {AssignmentState.STOOD_DOWN}
    with pytest.raises(E.InvalidAssignmentTransition):
        svc.assignment_act(actor=st.station_member, assignment=_mine(st, d, st.station_member), action="acknowledge")
    actions = list(AssignmentEvent.objects.filter(assignment=a).values_list("action", flat=True))
    assert actions == ["notify", "acknowledge", "en_route", "arrive", "resolve"]


def test_arriving_next_door_fills_the_skipped_steps(world):
    st = world
    _, d = _start(st)
    h = st.rental_house
    a = svc.assignment_act(actor=st.grid_worker, assignment=_mine(st, d, st.grid_worker), action="arrive",
                           lat=h.lat, lng=h.lng)
    assert a.acknowledged_at == a.en_route_at == a.arrived_at


def test_hazard_creates_a_reports_case_with_the_place_and_photos(world):
    from yizhan.reports.models import Case, CasePhoto

    st = world
    fire_hazard_category()
    _, d = _start(st)
    h = st.rental_house
    a = svc.assignment_act(actor=st.grid_worker, assignment=_mine(st, d, st.grid_worker), action="arrive",
                           lat=h.lat, lng=h.lng)
    svc.assignment_act(actor=st.grid_worker, assignment=a, action="resolve", outcome="hazard",
                       note="楼道灭火器过期", photos=[png()])
    d.refresh_from_db()
    case = Case.objects.get(pk=d.case_id)
    assert d.outcome == "hazard"
    assert case.category.code == "fire_equipment" and case.reporter == st.grid_worker
    assert (case.lat, case.lng) == (h.lat, h.lng) and case.address == h.address
    assert "灭火器过期" in case.description and st.smoke.code in case.description
    assert case.details.get("building") == st.building.name  # the house is in building 1
    assert CasePhoto.objects.filter(case=case).count() == 1


def test_real_fire_is_forwarded_after_commit(world, settings, monkeypatch):
    st = world
    started = []
    monkeypatch.setattr(svc, "start_forward_thread", lambda pk: started.append(pk))
    _, d = _start(st, kind=AlarmKind.FIRE)
    h = st.rental_house
    a = svc.assignment_act(actor=st.grid_worker, assignment=_mine(st, d, st.grid_worker), action="arrive",
                           lat=h.lat, lng=h.lng)
    with TestCase.captureOnCommitCallbacks(execute=True):
        svc.assignment_act(actor=st.grid_worker, assignment=a, action="resolve", outcome="real_fire")
    d.refresh_from_db()
    assert started == [d.pk] and d.forward_119_status == "pending"


# ---- who may act ----------------------------------------------------------------------------


def test_permission_matrix_of_the_steps(world):
    st = world
    _, d = _start(st)
    a = _mine(st, d, st.grid_worker)
    h = st.rental_house
    # another responder on the same dispatch, a responder elsewhere, a worker: never on mine
    other_comm = make_responder(st.tree.other_community, h.lat, h.lng, name="龙惠网格员")
    for user, err in ((st.station_member, AppError), (other_comm.user, AppError), (make_worker(), AppError)):
        with pytest.raises(err) as exc:
            svc.assignment_act(actor=user, assignment=a, action="acknowledge")
        assert exc.value.status == 403
    # the community's duty officer may not press the responder's buttons, but may stand them down
    with pytest.raises(AppError) as exc:
        svc.assignment_act(actor=st.duty_officer, assignment=a, action="acknowledge")
    assert exc.value.code == "permission_denied"
    other_duty = make_staff("duty_officer", st.tree.other_community)
    with pytest.raises(AppError) as exc:
        svc.assignment_act(actor=other_duty, assignment=a, action="stand_down")
    assert exc.value.code == "out_of_jurisdiction"
    a.refresh_from_db()
    assert a.state == AssignmentState.NOTIFIED and a.acknowledged_at is None
    a = svc.assignment_act(actor=st.duty_officer, assignment=a, action="stand_down", note="人手已够")
    assert a.state == AssignmentState.STOOD_DOWN
    with pytest.raises(E.InvalidAssignmentAction):
        svc.assignment_act(actor=st.duty_officer, assignment=a, action="explode")


def test_duty_officer_stands_the_dispatch_down(world):
    st = world
    _, d = _start(st)
    with pytest.raises(AppError) as err:
        svc.dispatch_stand_down(actor=make_staff("duty_officer", st.tree.other_community), dispatch=d)
    assert err.value.status == 403
    svc.dispatch_stand_down(actor=st.duty_officer, dispatch=d, note="电话核实为做饭油烟")
    d.refresh_from_db()
    assert d.state == DispatchState.RESOLVED and d.outcome == "false_alarm" and d.outcome_note == "电话核实为做饭油烟"
    assert set(Assignment.objects.filter(dispatch=d).values_list("state", flat=True)) == {AssignmentState.STOOD_DOWN}
    assert svc.dispatch_escalate_due(now=d.notified_at + timedelta(seconds=600)) == 0


def test_alarm_trigger_starts_the_dispatch_after_its_commit(world):
    from django.utils import timezone

    from yizhan.safety.services.alarms import alarm_trigger

    st = world
    received = timezone.now()
    device_clock = received + timedelta(minutes=3)  # a device whose clock runs fast
    with TestCase.captureOnCommitCallbacks(execute=True):
        alarm, created = alarm_trigger(device=st.gas, kind=AlarmKind.GAS, severity="critical",
                                       details={"lel": 30}, channel="mqtt", received_at=received, at=device_clock)
    assert created
    d = Dispatch.objects.get(alarm=alarm)
    assert d.created_at_alarm == received  # t0 is the server's, not the device's clock
    assert Assignment.objects.filter(dispatch=d).count() == 3
    with TestCase.captureOnCommitCallbacks(execute=True):
        alarm_trigger(device=st.gas, kind=AlarmKind.GAS, severity="critical", channel="mqtt")  # re-trigger
    assert Dispatch.objects.filter(alarm=alarm).count() == 1
