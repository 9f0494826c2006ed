"""Alarms: trigger upsert, re-trigger, acknowledge/clear through the ALARM workflow, the
one-open-alarm constraint, concurrent triggers, selectors (owner: rules)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import IntegrityError, connection, transaction

from yizhan.core.errors import OutOfJurisdiction, PermissionDenied
from yizhan.core.models import AuditLog, DomainEvent
from yizhan.safety.choices import AlarmKind, AlarmState, DeviceStatus, Severity
from yizhan.safety.errors import AlarmNotFound, InvalidAlarmTransition
from yizhan.safety.ingest.device_cache import device_by_code, device_cache_forget
from yizhan.safety.models import Alarm, AlarmEvent, Device
from yizhan.safety.selectors.alarms import alarm_counts, alarm_get, alarm_list
from yizhan.safety.services.alarms import (
    alarm_acknowledge,
    alarm_clear,
    alarm_trigger,
    alarms_clear_offline,
    alarms_raise_offline,
)

T0 = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _dispatch():
    with mock.patch("yizhan.safety.services.alarms.dispatch_start") as start:
        yield start


def trig(device, kind=AlarmKind.SMOKE, severity=Severity.CRITICAL, at=T0, **details):
    return alarm_trigger(device=device, kind=kind, severity=severity, details=details, channel="mqtt",
                         received_at=at, at=at)


def test_trigger_creates_with_timeline_audit_and_event(safety_tree):
    st = safety_tree
    alarm, created = trig(st.smoke, value=0.3)
    assert created and alarm.state == AlarmState.ACTIVE and alarm.open
    assert (alarm.place_id, alarm.jurisdiction_id, alarm.rank, alarm.trigger_count) == (
        st.rental_house.pk, st.tree.community.pk, 1, 1)
    assert alarm.started_at == alarm.last_triggered_at == T0 and alarm.details == {"value": 0.3}
    assert list(AlarmEvent.objects.filter(alarm=alarm).values_list("action", flat=True)) == ["raise"]
    assert AuditLog.objects.filter(object_type="safety.alarm", object_id=str(alarm.pk)).exists()
    assert DomainEvent.objects.filter(name="safety.alarm_raised", aggregate_id=str(alarm.pk)).exists()


def test_trigger_accepts_device_facts(safety_tree):
    st = safety_tree
    device_cache_forget()
    alarm, created = trig(device_by_code(st.gas.code), kind=AlarmKind.GAS)
    assert created and alarm.device_id == st.gas.pk and alarm.place_id == st.rental_house.pk


def test_retrigger_updates_the_open_alarm(safety_tree):
    st = safety_tree
    first, _ = trig(st.smoke, severity=Severity.MAJOR, value=0.2)
    again, created = trig(st.smoke, at=T0 + timedelta(seconds=30), severity=Severity.CRITICAL, value=0.5)
    assert not created and again.pk == first.pk
    again.refresh_from_db()
    assert again.trigger_count == 2 and again.last_triggered_at == T0 + timedelta(seconds=30)
    assert again.started_at == T0 and again.severity == Severity.CRITICAL and again.rank == 1  # raised
    assert again.details["value"] == 0.5
    lower, _ = trig(st.smoke, at=T0 + timedelta(seconds=60), severity=Severity.WARNING)
    lower.refresh_from_db()
    assert lower.severity == Severity.CRITICAL and lower.trigger_count == 3  # never lowered
    assert AlarmEvent.objects.filter(alarm=first, action="retrigger").count() == 2


def test_retrigger_keeps_acknowledged(safety_tree):
    st = safety_tree
    alarm, _ = trig(st.smoke)
    alarm_acknowledge(actor=st.duty_officer, alarm=alarm)
    again, created = trig(st.smoke, at=T0 + timedelta(seconds=5))
    assert not created and again.state == AlarmState.ACKNOWLEDGED and again.trigger_count == 2


def test_ranks_fire_first(safety_tree):
    st = safety_tree
    fire, _ = trig(st.transmitter, kind=AlarmKind.FIRE, severity=Severity.CRITICAL)
    batt, _ = trig(st.smoke, kind=AlarmKind.LOW_BATTERY, severity=Severity.WARNING)
    elec, _ = trig(st.electrical, kind=AlarmKind.ELECTRICAL, severity=Severity.MAJOR)
    gas, _ = trig(st.gas, kind=AlarmKind.GAS, severity=Severity.CRITICAL, at=T0 + timedelta(seconds=1))
    assert (fire.rank, gas.rank, elec.rank, batt.rank) == (0, 1, 2, 4)
    items, count = alarm_list(user=st.duty_officer, state="open")
    assert count == 4 and [a.pk for a in items] == [fire.pk, gas.pk, elec.pk, batt.pk]


def test_dispatch_started_on_commit_for_fire_smoke_gas(safety_tree, _dispatch, django_capture_on_commit_callbacks):
    st = safety_tree
    with django_capture_on_commit_callbacks(execute=True):
        fire, _ = trig(st.transmitter, kind=AlarmKind.FIRE)
        trig(st.transmitter, kind=AlarmKind.FIRE, at=T0 + timedelta(seconds=1))  # re-trigger: no second one
        trig(st.smoke, kind=AlarmKind.TAMPER, severity=Severity.MAJOR)
        trig(st.electrical, kind=AlarmKind.ELECTRICAL, severity=Severity.MAJOR)
        gas, _ = trig(st.gas, kind=AlarmKind.GAS)
    assert [c.kwargs["alarm"].pk for c in _dispatch.call_args_list] == [fire.pk, gas.pk]


def test_dispatch_not_started_when_rolled_back(safety_tree, _dispatch, django_capture_on_commit_callbacks):
    st = safety_tree
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            trig(st.smoke)
            raise RuntimeError("rolled back")
    _dispatch.assert_not_called()
    assert not Alarm.objects.exists()


def test_acknowledge_then_clear_with_every_timestamp(safety_tree):
    st = safety_tree
    alarm, _ = trig(st.smoke)
    alarm = alarm_acknowledge(actor=st.duty_officer, alarm=alarm, note="已通知网格员")
    assert alarm.state == AlarmState.ACKNOWLEDGED and alarm.acknowledged_by == st.duty_officer
    assert alarm.acknowledged_at is not None and alarm.open
    alarm = alarm_clear(actor=st.duty_officer, alarm=alarm, note="误报：做饭油烟")
    assert alarm.state == AlarmState.CLEARED and not alarm.open and alarm.cleared_by == st.duty_officer
    assert alarm.clear_note == "误报：做饭油烟" and alarm.cleared_at >= alarm.acknowledged_at
    events = list(alarm.events.values_list("action", "from_state", "to_state"))
    assert events == [("raise", "", "active"), ("acknowledge", "active", "acknowledged"),
                      ("clear", "acknowledged", "cleared")]
    with pytest.raises(InvalidAlarmTransition):
        alarm_acknowledge(actor=st.duty_officer, alarm=alarm)
    with pytest.raises(InvalidAlarmTransition):
        alarm_clear(actor=st.duty_officer, alarm=alarm)


def test_clear_straight_from_active_and_by_the_system(safety_tree):
    st = safety_tree
    a, _ = trig(st.smoke)
    a = alarm_clear(actor=st.duty_officer, alarm=a)
    assert a.acknowledged_by == st.duty_officer  # whoever cleared it saw it
    b, _ = trig(st.gas, kind=AlarmKind.FAULT, severity=Severity.MINOR)
    b = alarm_clear(actor=None, alarm=b, system=True, note="fault gone")
    assert b.state == AlarmState.CLEARED and b.cleared_by is None and b.acknowledged_at is None


def test_permissions(safety_tree):
    st = safety_tree
    alarm, _ = trig(st.smoke)
    with pytest.raises(PermissionDenied):
        alarm_acknowledge(actor=st.station_member, alarm=alarm)  # fire_responder: no safety.duty
    with pytest.raises(OutOfJurisdiction):
        alarm_acknowledge(actor=st.other_manager, alarm=alarm)  # duty elsewhere
    assert alarm_acknowledge(actor=st.manager, alarm=alarm).state == AlarmState.ACKNOWLEDGED


def test_cleared_then_triggered_opens_a_new_alarm(safety_tree, _dispatch, django_capture_on_commit_callbacks):
    st = safety_tree
    first, _ = trig(st.smoke)
    alarm_clear(actor=st.duty_officer, alarm=first)
    with django_capture_on_commit_callbacks(execute=True):
        second, created = trig(st.smoke, at=T0 + timedelta(minutes=5))
    assert created and second.pk != first.pk and second.trigger_count == 1
    assert Alarm.objects.filter(device=st.smoke, kind=AlarmKind.SMOKE).count() == 2
    assert Alarm.objects.filter(device=st.smoke, kind=AlarmKind.SMOKE, open=True).get() == second
    _dispatch.assert_called_once()  # the re-opened one starts a dispatch too


def test_one_open_alarm_per_device_and_kind_in_the_database(safety_tree):
    st = safety_tree
    alarm, _ = trig(st.smoke)
    with pytest.raises(IntegrityError), transaction.atomic():
        Alarm.objects.create(device=st.smoke, place=st.rental_house, jurisdiction=st.tree.community,
                             kind=AlarmKind.SMOKE, severity=Severity.CRITICAL, started_at=T0, last_triggered_at=T0)
    # another kind on the same device is fine
    assert trig(st.smoke, kind=AlarmKind.TAMPER, severity=Severity.MAJOR)[1]
    with pytest.raises(IntegrityError), transaction.atomic():  # open must match the state
        Alarm.objects.filter(pk=alarm.pk).update(open=False)


def test_lost_race_retriggers_the_winner(safety_tree):
    """Another process opened the alarm between our look and our insert."""
    st = safety_tree
    winner, _ = trig(st.smoke)
    real_filter = Alarm.objects.select_for_update
    calls = {"n": 0}

    def first_blind():
        qs = real_filter()
        calls["n"] += 1
        return qs.none() if calls["n"] == 1 else qs

    with mock.patch.object(Alarm.objects, "select_for_update", side_effect=first_blind):
        alarm, created = trig(st.smoke, at=T0 + timedelta(seconds=1))
    assert not created and alarm.pk == winner.pk and alarm.trigger_count == 2
    assert Alarm.objects.filter(device=st.smoke).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_triggers_end_with_one_alarm(safety_tree):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises the test database)")
    st = safety_tree
    n = 6
    barrier = threading.Barrier(n)
    results, errors = [], []

    def worker():
        from django.db import connection as conn

        try:
            barrier.wait(timeout=10)
            results.append(trig(st.smoke))
        except Exception as exc:  # pragma: no cover - shown by the assert
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert sum(created for _a, created in results) == 1
    alarm = Alarm.objects.get(device=st.smoke, kind=AlarmKind.SMOKE)
    assert alarm.trigger_count == n


def test_offline_bulk_raise_and_clear(safety_tree):
    st = safety_tree
    rows = list(Device.objects.filter(pk__in=[st.smoke.pk, st.gas.pk]).values(
        "id", "place_id", "jurisdiction_id", "last_seen_at", "heartbeat_interval"))
    assert alarms_raise_offline(rows, at=T0) == 2
    assert alarms_raise_offline(rows, at=T0 + timedelta(seconds=5)) == 0  # already open: skipped
    offline = Alarm.objects.filter(kind=AlarmKind.OFFLINE, open=True)
    assert offline.count() == 2 and set(offline.values_list("rank", flat=True)) == {3}
    assert AlarmEvent.objects.filter(alarm__kind=AlarmKind.OFFLINE, action="raise").count() == 2
    assert alarms_clear_offline([st.smoke.pk], at=T0 + timedelta(seconds=9)) == 1
    cleared = Alarm.objects.get(device=st.smoke, kind=AlarmKind.OFFLINE)
    assert (cleared.state, cleared.open) == (AlarmState.CLEARED, False)
    assert list(cleared.events.values_list("action", flat=True)) == ["raise", "clear"]
    audit = AuditLog.objects.get(object_type="safety.alarm", summary__contains="clear offline")
    assert audit.changes["devices"] == [st.smoke.pk] and audit.jurisdiction_path == st.tree.community.path


# ---- selectors ------------------------------------------------------------------------------


def test_list_filters_and_scope(safety_tree):
    st = safety_tree
    a, _ = trig(st.smoke)
    b, _ = trig(st.gas, kind=AlarmKind.GAS)
    alarm_acknowledge(actor=st.duty_officer, alarm=b)
    c, _ = trig(st.electrical, kind=AlarmKind.ELECTRICAL, severity=Severity.MAJOR)
    alarm_clear(actor=st.duty_officer, alarm=c)
    other, _ = trig(st.other_device)
    ids = lambda **kw: {x.pk for x in alarm_list(user=st.duty_officer, **kw)[0]}  # noqa: E731
    assert ids() == {a.pk, b.pk, c.pk}  # not community B's
    assert ids(state="open") == {a.pk, b.pk}
    assert ids(state="active") == {a.pk} and ids(state="acknowledged") == {b.pk} and ids(state="cleared") == {c.pk}
    assert ids(device=st.smoke.code) == {a.pk} and ids(device=st.gas) == {b.pk}
    assert ids(kind=AlarmKind.GAS) == {b.pk}
    items, count = alarm_list(user=st.duty_officer, limit=1, offset=1)
    assert count == 3 and len(items) == 1
    assert {x.pk for x in alarm_list(user=st.other_manager)[0]} == {other.pk}
    assert alarm_list(user=st.tree and _nobody())[1] == 0


def _nobody():
    from yizhan.core.testing.factories import make_user

    return make_user()


def test_get_in_scope_only(safety_tree):
    st = safety_tree
    a, _ = trig(st.smoke)
    assert alarm_get(user=st.grid_worker, alarm_id=a.pk).device.code == st.smoke.code
    with pytest.raises(AlarmNotFound):
        alarm_get(user=st.other_manager, alarm_id=a.pk)
    with pytest.raises(AlarmNotFound):
        alarm_get(user=st.duty_officer, alarm_id=a.pk + 10_000)


def test_counts(safety_tree):
    st = safety_tree
    Device.objects.filter(pk__in=[st.smoke.pk, st.gas.pk]).update(status=DeviceStatus.ONLINE)
    Device.objects.filter(pk=st.electrical.pk).update(status=DeviceStatus.OFFLINE)
    trig(st.smoke)
    trig(st.smoke, kind=AlarmKind.TAMPER, severity=Severity.MAJOR)
    trig(st.gas, kind=AlarmKind.GAS)
    trig(st.other_device)
    counts = alarm_counts(user=st.duty_officer)
    assert counts["total"] == 6 and counts["online"] == 2 and counts["offline"] == 1
    assert counts["alarm"] == 2 and counts["active_alarms"] == 3
