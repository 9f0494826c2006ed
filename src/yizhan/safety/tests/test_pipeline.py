"""The ingest pipeline: liveness batching, offline timer, events → alarms, idempotency,
refusals, GB/T 26875.3 mapping (owner: rules)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from yizhan.safety.choices import AlarmKind, AlarmState, DeviceStatus, IngestChannel
from yizhan.safety.ingest.device_cache import device_cache_forget, device_index
from yizhan.safety.ingest.message import SensorMessage, parse_json_payload
from yizhan.safety.ingest.pipeline import (
    IngestPipeline,
    default_pipeline,
    offline_sweep,
    pipeline_forget,
)
from yizhan.safety.jobs import offline_sweep as offline_sweep_job
from yizhan.safety.models import Alarm, Device, DeviceEvent, IngestReject

T0 = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
GB = 0x000012345678


class Clock:
    def __init__(self, at=T0):
        self.at = at

    def __call__(self):
        return self.at

    def tick(self, seconds):
        self.at += timedelta(seconds=seconds)
        return self.at


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def pipe(safety_tree, clock):
    device_cache_forget()
    p = IngestPipeline(now=clock)
    yield p
    pipeline_forget()


@pytest.fixture(autouse=True)
def _no_dispatch():
    with mock.patch("yizhan.safety.services.alarms.dispatch_start") as start:
        yield start


def mqtt(code, payload: bytes, at):
    return parse_json_payload(code, payload, channel=IngestChannel.MQTT, received_at=at)


def gb(kind, *, status=None, serial=1, sys_type=1, sys_addr=0, comp_type=None, comp_addr=None, desc="",
       address=GB, at=T0):
    return SensorMessage(channel=IngestChannel.GB26875, device_code=None, dedupe_key=f"g{serial}:261203120000",
                         seq=None, ts=None, battery=None, event=None, values={}, received_at=at, gb_address=address,
                         gb_sys_type=sys_type if kind in ("system", "component") else None,
                         gb_sys_addr=sys_addr if kind in ("system", "component") else None,
                         gb_comp_type=comp_type, gb_comp_addr=comp_addr, gb_status=status, gb_description=desc,
                         gb_kind=kind)


# ---- liveness --------------------------------------------------------------------------------


def test_heartbeats_write_nothing_until_flush(pipe, safety_tree, clock):
    st = safety_tree
    device_index()  # warm
    # loads the rules and the open alarms once
    pipe.handle(mqtt(st.gas.code, b'{"seq": 0, "event": "heartbeat", "battery": 80}', clock()))
    with CaptureQueriesContext(connection) as q:
        for i in range(1, 200):
            out = pipe.handle(mqtt(st.smoke.code, b'{"seq": %d, "event": "heartbeat", "battery": 90}' % i, clock()))
            assert out.status == "accepted"
        pipe.handle(mqtt(st.gas.code, b'{"values": {"gas_lel": 2.5}}', clock()))
    assert len(q) == 0
    st.smoke.refresh_from_db()
    assert st.smoke.last_seen_at is None and st.smoke.status == DeviceStatus.NEW
    out = pipe.flush()
    assert out["seen"] == 2
    st.smoke.refresh_from_db()
    assert st.smoke.status == DeviceStatus.ONLINE and st.smoke.last_seen_at == T0
    assert st.smoke.offline_due_at == T0 + timedelta(seconds=60 + 10)
    st.gas.refresh_from_db()
    assert st.gas.last_values == {"gas_lel": 2.5}
    assert DeviceEvent.objects.count() == 0
    assert pipe.counters["heartbeat"] == 200 and pipe.flush()["seen"] == 0 and pipe.counters["values"] == 1


def test_flush_is_a_few_statements_for_many_devices(safety_tree, clock):
    st = safety_tree
    place = st.rental_house
    Device.objects.bulk_create([Device(code=f"T-BULK-{i:04d}", kind="smoke", place=place,
                                       jurisdiction_id=place.jurisdiction_id, heartbeat_interval=30)
                                for i in range(1200)])
    device_cache_forget()
    pipe = IngestPipeline(now=clock)
    for i in range(1200):
        pipe.handle(mqtt(f"T-BULK-{i:04d}", b'{"seq": 1}', clock()))
    with CaptureQueriesContext(connection) as q:
        pipe.flush()
    assert len(q) <= 20, [x["sql"][:80] for x in q]
    assert Device.objects.filter(code__startswith="T-BULK-", status=DeviceStatus.ONLINE).count() == 1200


def test_battery_written_in_batch_only_when_changed(pipe, safety_tree, clock):
    st = safety_tree
    pipe.handle(mqtt(st.smoke.code, b'{"seq": 1, "battery": 90}', clock()))  # same as stored: nothing to write
    assert pipe.flush()["battery"] == 0
    pipe.handle(mqtt(st.smoke.code, b'{"seq": 2, "battery": 70}', clock()))
    assert pipe.flush()["battery"] == 1
    st.smoke.refresh_from_db()
    assert st.smoke.battery == 70


def test_offline_timer_and_back_online(pipe, safety_tree, clock):
    st = safety_tree
    pipe.handle(mqtt(st.smoke.code, b'{"seq": 1}', clock()))
    pipe.flush()
    clock.tick(69)
    assert pipe.flush()["offline"] == 0  # interval 60 + 10 s grace not over
    clock.tick(2)
    assert pipe.flush()["offline"] == 1
    st.smoke.refresh_from_db()
    assert st.smoke.status == DeviceStatus.OFFLINE and st.smoke.offline_due_at is None
    alarm = Alarm.objects.get(device=st.smoke, kind=AlarmKind.OFFLINE, open=True)
    assert alarm.state == AlarmState.ACTIVE and alarm.details["heartbeat_interval"] == 60
    # back: online at the next flush, the OFFLINE alarm cleared with its timeline
    pipe.handle(mqtt(st.smoke.code, b'{"seq": 2}', clock.tick(30)))
    assert pipe.flush()["back_online"] == 1
    st.smoke.refresh_from_db()
    alarm.refresh_from_db()
    assert st.smoke.status == DeviceStatus.ONLINE
    assert (alarm.state, alarm.open, alarm.cleared_at) == (AlarmState.CLEARED, False, clock())
    assert list(alarm.events.values_list("action", flat=True)) == ["raise", "clear"]


def test_timer_checks_the_database_first(pipe, safety_tree, clock):
    """Another ingest process saw the device later: the due entry here is stale."""
    st = safety_tree
    pipe.handle(mqtt(st.smoke.code, b'{"seq": 1}', clock()))
    pipe.flush()
    Device.objects.filter(pk=st.smoke.pk).update(last_seen_at=T0 + timedelta(seconds=60),
                                                 offline_due_at=T0 + timedelta(seconds=130))
    clock.tick(100)
    assert pipe.flush()["offline"] == 0
    assert Device.objects.get(pk=st.smoke.pk).status == DeviceStatus.ONLINE


def test_offline_sweep_job_reads_due_devices(safety_tree):
    st = safety_tree
    now = datetime.now(UTC)
    Device.objects.filter(pk__in=[st.smoke.pk, st.gas.pk]).update(
        status=DeviceStatus.ONLINE, last_seen_at=now - timedelta(seconds=200), offline_due_at=now - timedelta(seconds=1))
    Device.objects.filter(pk=st.electrical.pk).update(status=DeviceStatus.ONLINE, last_seen_at=now,
                                                      offline_due_at=now + timedelta(seconds=70))
    assert offline_sweep_job() == 2
    assert set(Device.objects.filter(status=DeviceStatus.OFFLINE).values_list("code", flat=True)) == {
        st.smoke.code, st.gas.code}
    assert Alarm.objects.filter(kind=AlarmKind.OFFLINE, open=True).count() == 2
    assert offline_sweep_job() == 0  # nothing due twice, no second alarm
    assert Alarm.objects.filter(kind=AlarmKind.OFFLINE).count() == 2


def test_offline_sweep_clears_stale_offline_alarms(safety_tree):
    st = safety_tree
    now = datetime.now(UTC)
    Device.objects.filter(pk=st.smoke.pk).update(status=DeviceStatus.ONLINE, offline_due_at=now - timedelta(seconds=1))
    offline_sweep(now=now)
    Device.objects.filter(pk=st.smoke.pk).update(status=DeviceStatus.ONLINE, offline_due_at=now + timedelta(60))
    offline_sweep(now=now)
    assert not Alarm.objects.filter(kind=AlarmKind.OFFLINE, open=True).exists()


def test_offline_sweep_uses_the_index(safety_tree):
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN wording is PostgreSQL's")
    with connection.cursor() as cur:
        cur.execute("SET enable_seqscan = off")
        cur.execute("EXPLAIN SELECT id FROM safety_device WHERE offline_due_at < now() ORDER BY offline_due_at")
        plan = " ".join(r[0] for r in cur.fetchall())
        cur.execute("SET enable_seqscan = on")
    assert "offline_due_at" in plan and "Index" in plan


# ---- events → alarms ---------------------------------------------------------------------------


def test_alarm_event_raises_alarm_once(pipe, safety_tree, clock, _no_dispatch, django_capture_on_commit_callbacks):
    st = safety_tree
    with django_capture_on_commit_callbacks(execute=True):
        out = pipe.handle(mqtt(st.smoke.code, b'{"seq": 5, "event": "alarm", "values": {"smoke_obscuration": 0.3}}',
                               clock()))
    assert out.status == "alarm"
    alarm = Alarm.objects.get(pk=out.alarm_id)
    assert (alarm.kind, alarm.severity, alarm.rank, alarm.device_id, alarm.place_id) == (
        AlarmKind.SMOKE, "critical", 1, st.smoke.pk, st.rental_house.pk)
    assert alarm.channel == "mqtt" and alarm.received_at == T0
    assert DeviceEvent.objects.filter(device=st.smoke, dedupe_key="s5", event="alarm").count() == 1
    _no_dispatch.assert_called_once()
    # the same message again (QoS 1 redelivery): a duplicate, nothing new
    dup = pipe.handle(mqtt(st.smoke.code, b'{"seq": 5, "event": "alarm"}', clock()))
    assert dup.status == "duplicate"
    # ... even in another process (a fresh pipeline: the event row's unique key)
    other = IngestPipeline(now=clock)
    assert other.handle(mqtt(st.smoke.code, b'{"seq": 5, "event": "alarm"}', clock())).status == "duplicate"
    alarm.refresh_from_db()
    assert alarm.trigger_count == 1
    # a new message re-triggers the open alarm
    again = pipe.handle(mqtt(st.smoke.code, b'{"seq": 6, "event": "alarm"}', clock.tick(5)))
    assert again.alarm_id == alarm.pk
    alarm.refresh_from_db()
    assert alarm.trigger_count == 2 and alarm.last_triggered_at == clock()
    assert Alarm.objects.filter(device=st.smoke).count() == 1


def test_value_over_rule_raises_alarm(pipe, safety_tree, clock):
    st = safety_tree
    assert pipe.handle(mqtt(st.gas.code, b'{"seq": 1, "values": {"gas_lel": 30}}', clock())).status == "accepted"
    out = pipe.handle(mqtt(st.gas.code, b'{"seq": 2, "values": {"gas_lel": 35}}', clock.tick(1)))
    assert out.status == "alarm"
    alarm = Alarm.objects.get(pk=out.alarm_id)
    assert alarm.kind == AlarmKind.GAS and alarm.details["value"] == 35 and alarm.details["repeat"] == 2
    assert DeviceEvent.objects.filter(device=st.gas).count() == 1  # only the one that raised it


def test_tamper_fault_low_battery(pipe, safety_tree, clock):
    st = safety_tree
    kinds = {}
    for seq, event in enumerate(("tamper", "fault", "low_battery"), 1):
        out = pipe.handle(mqtt(st.smoke.code, b'{"seq": %d, "event": "%s", "battery": 40}' % (seq, event.encode()),
                               clock()))
        kinds[event] = Alarm.objects.get(pk=out.alarm_id).kind
    assert kinds == {"tamper": AlarmKind.TAMPER, "fault": AlarmKind.FAULT, "low_battery": AlarmKind.LOW_BATTERY}


def test_low_battery_from_heartbeat_and_cleared(pipe, safety_tree, clock):
    st = safety_tree
    out = pipe.handle(mqtt(st.smoke.code, b'{"seq": 1, "event": "heartbeat", "battery": 12}', clock()))
    assert out.status == "alarm"
    # more low heartbeats within a minute: counted, not written
    with CaptureQueriesContext(connection) as q:
        pipe.handle(mqtt(st.smoke.code, b'{"seq": 2, "event": "heartbeat", "battery": 11}', clock.tick(10)))
    assert len(q) == 0
    pipe.handle(mqtt(st.smoke.code, b'{"seq": 3, "event": "heartbeat", "battery": 95}', clock.tick(10)))
    alarm = Alarm.objects.get(device=st.smoke, kind=AlarmKind.LOW_BATTERY)
    assert not alarm.open and alarm.state == AlarmState.CLEARED


# ---- refusals ---------------------------------------------------------------------------------


def test_unknown_device_refused_and_counted(pipe, clock):
    out = pipe.handle(mqtt("HZ-99999", b'{"seq": 1, "event": "alarm"}', clock()))
    assert (out.status, out.reason) == ("rejected", "unknown_device")
    row = IngestReject.objects.get()
    assert (row.channel, row.reason, row.device_code) == ("mqtt", "unknown_device", "HZ-99999")
    assert pipe.counters["rejected:mqtt:unknown_device"] == 1


def test_impossible_value_refused_nothing_recorded(pipe, safety_tree, clock):
    st = safety_tree
    out = pipe.handle(mqtt(st.electrical.code, b'{"seq": 1, "values": {"cable_temp_c": 900}}', clock()))
    assert (out.status, out.reason) == ("rejected", "impossible_value")
    assert IngestReject.objects.get().detail.startswith("values.cable_temp_c")
    assert not DeviceEvent.objects.exists() and not Alarm.objects.exists()
    assert pipe.flush()["seen"] == 0  # not even liveness
    # the same sequence number with a sane value is not a duplicate
    assert pipe.handle(mqtt(st.electrical.code, b'{"seq": 1, "values": {"cable_temp_c": 30}}', clock())).ok


def test_disabled_device_refused(pipe, safety_tree, clock):
    st = safety_tree
    Device.objects.filter(pk=st.gas.pk).update(status=DeviceStatus.DISABLED)
    device_cache_forget()
    assert pipe.handle(mqtt(st.gas.code, b'{"seq": 1}', clock())).reason == "device_disabled"


def test_reject_flood_is_capped(pipe, clock):
    for _i in range(260):
        pipe.reject(channel="mqtt", reason="malformed_message", excerpt=b"\xff\x00garbage", peer="1.2.3.4")
    assert IngestReject.objects.count() == 200
    pipe.flush()
    summary = IngestReject.objects.get(detail__startswith="60 more")
    assert summary.reason == "malformed_message"
    assert pipe.counters["rejected"] == 260


def test_reject_excerpt_is_text_or_hex(pipe):
    pipe.reject(channel="gb26875", reason="bad_checksum", excerpt=b"\x40\x40\xff\x01")
    pipe.reject(channel="mqtt", reason="malformed_message", excerpt=b"{nope")
    assert set(IngestReject.objects.values_list("excerpt", flat=True)) == {"4040ff01", "{nope"}


def test_internal_error_is_refused_not_raised(pipe, safety_tree, clock):
    st = safety_tree
    with mock.patch("yizhan.safety.ingest.pipeline.alarm_trigger", side_effect=RuntimeError("db gone")):
        out = pipe.handle(mqtt(st.smoke.code, b'{"seq": 9, "event": "alarm"}', clock()))
    assert out.reason == "internal_error" and out.retry
    assert not DeviceEvent.objects.exists()  # rolled back with the alarm: a redelivery can retry
    assert pipe.handle(mqtt(st.smoke.code, b'{"seq": 9, "event": "alarm"}', clock())).status == "alarm"


def test_database_down_raises_so_the_batch_is_kept(pipe, safety_tree, clock):
    from django.db import OperationalError

    st = safety_tree
    with mock.patch("yizhan.safety.ingest.pipeline.alarm_trigger", side_effect=OperationalError("gone")):
        with pytest.raises(OperationalError):
            pipe.handle_many([mqtt(st.smoke.code, b'{"seq": 3, "event": "alarm"}', clock())])
    # handed again when the database is back: raised, not lost and not a duplicate
    assert pipe.handle_many([mqtt(st.smoke.code, b'{"seq": 3, "event": "alarm"}', clock())])[0].status == "alarm"


def test_handle_many_keeps_order_and_survives_bad_ones(pipe, safety_tree, clock):
    st = safety_tree
    msgs = [mqtt(st.smoke.code, b'{"seq": 1}', clock()), mqtt("NOPE", b'{"seq": 1}', clock()),
            mqtt(st.smoke.code, b'{"seq": 2, "event": "alarm"}', clock()), mqtt(st.smoke.code, b'{"seq": 2}', clock())]
    assert [o.status for o in pipe.handle_many(msgs)] == ["accepted", "rejected", "alarm", "duplicate"]


# ---- GB/T 26875.3 ------------------------------------------------------------------------------


def test_gb_fire_on_a_registered_point(pipe, safety_tree, clock, _no_dispatch, django_capture_on_commit_callbacks):
    st = safety_tree
    with django_capture_on_commit_callbacks(execute=True):
        out = pipe.handle(gb("component", status=0x0003, comp_type=40, comp_addr=0x0102, desc="2楼走廊烟感"))
    alarm = Alarm.objects.get(pk=out.alarm_id)
    assert (alarm.kind, alarm.rank, alarm.device_id, alarm.channel) == (AlarmKind.FIRE, 0, st.component.pk, "gb26875")
    assert alarm.details["in_point_table"] is True and alarm.details["description"] == "2楼走廊烟感"
    _no_dispatch.assert_called_once()


def test_gb_fire_off_the_table_goes_on_the_transmitter(pipe, safety_tree, clock):
    st = safety_tree
    out = pipe.handle(gb("component", status=0x0002, comp_type=40, comp_addr=0x0999, desc="3楼东侧手报"))
    alarm = Alarm.objects.get(pk=out.alarm_id)
    assert alarm.kind == AlarmKind.FIRE and alarm.device_id == st.transmitter.pk
    assert alarm.details["gb_address"] == "000012345678" and alarm.details["comp_addr"] == 0x0999
    assert alarm.details["description"] == "3楼东侧手报" and alarm.details["in_point_table"] is False
    assert alarm.details["test"] is True  # bit0 = 0 (research Q1): raised all the same


def test_gb_same_frame_two_points(pipe, safety_tree):
    outs = pipe.handle_many([gb("component", status=2, serial=7, comp_addr=0x0A01),
                             gb("component", status=2, serial=7, comp_addr=0x0A02)])
    assert [o.status for o in outs] == ["alarm", "alarm"]
    assert DeviceEvent.objects.count() == 2
    assert Alarm.objects.get().trigger_count == 2  # one open FIRE per device (the transmitter)
    # the frame sent again (no confirm arrived): duplicates
    assert [o.status for o in IngestPipeline().handle_many([gb("component", status=2, serial=7, comp_addr=0x0A01)])] \
        == ["duplicate"]


def test_gb_fault_and_recovery(pipe, safety_tree, clock):
    st = safety_tree
    out = pipe.handle(gb("component", status=0x0005, serial=1, comp_addr=0x0102))
    alarm = Alarm.objects.get(pk=out.alarm_id)
    assert alarm.kind == AlarmKind.FAULT and alarm.device_id == st.component.pk and alarm.details["faults"] == ["fault"]
    assert pipe.handle(gb("component", status=0x0001, serial=2, comp_addr=0x0102)).ok
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.CLEARED
    # a normal status of a point with no open fault writes nothing
    with CaptureQueriesContext(connection) as q:
        pipe.handle(gb("component", status=0x0001, serial=3, comp_addr=0x0102))
    assert len(q) == 0


def test_gb_system_and_uitd_status(pipe, safety_tree):
    st = safety_tree
    sys_out = pipe.handle(gb("system", status=0x0201, serial=1))  # backup power fault
    assert Alarm.objects.get(pk=sys_out.alarm_id).details["faults"] == ["backup_power_fault"]
    uitd = pipe.handle(gb("transmitter", status=0x0003, serial=2))  # fire from the transmitter itself
    fire = Alarm.objects.get(pk=uitd.alarm_id)
    assert fire.kind == AlarmKind.FIRE and fire.device_id == st.transmitter.pk


def test_gb_heartbeat_is_transmitter_liveness(pipe, safety_tree, clock):
    st = safety_tree
    assert pipe.handle(gb("heartbeat")).status == "accepted"
    pipe.flush()
    st.transmitter.refresh_from_db()
    assert st.transmitter.status == DeviceStatus.ONLINE and st.transmitter.last_seen_at == T0


def test_gb_unregistered_transmitter_refused(pipe, safety_tree):
    out = pipe.handle(gb("component", status=2, address=0xABCDEF012345))
    assert out.reason == "unknown_device"
    assert IngestReject.objects.get().device_code == "ABCDEF012345"
    assert not Alarm.objects.exists()


# ---- speed (a loose floor here; bench/ingest.py measures) --------------------------------------


def test_heartbeat_rate(pipe, safety_tree):
    st = safety_tree
    now = datetime.now(UTC)
    msgs = [mqtt(st.smoke.code, b'{"seq": %d, "battery": 90}' % i, now) for i in range(5000)]
    pipe.handle(msgs[0])
    started = time.perf_counter()
    pipe.handle_many(msgs[1:])
    rate = 4999 / (time.perf_counter() - started)
    assert rate > 5000, rate


def test_default_pipeline_is_one_per_process(db):
    assert default_pipeline() is default_pipeline()


def test_timing_wheel_scales_without_scanning():
    """100,000 devices in the wheel: seeing one again moves one entry; a tick visits only
    the seconds that passed and hands only the due devices to the database check."""
    from yizhan.safety.ingest.device_cache import DeviceFacts

    clock = Clock()
    p = IngestPipeline(now=clock)
    facts = [DeviceFacts(i, f"D{i}", "smoke", 1, 1, "", 30 + i % 60, "online", None, None, None, None, None, None,
                         None) for i in range(100_000)]
    hb = SensorMessage(channel="mqtt", device_code="x", dedupe_key="", seq=None, ts=None, battery=None,
                       event="heartbeat", values={}, received_at=T0)
    started = time.perf_counter()
    for f in facts:
        p._alive(f, hb)
    assert time.perf_counter() - started < 5
    assert len(p._due) == 100_000 and len(p._wheel) == 60
    later = SensorMessage(channel="mqtt", device_code="x", dedupe_key="", seq=None, ts=None, battery=None,
                          event="heartbeat", values={}, received_at=T0 + timedelta(seconds=30))
    p._alive(facts[0], later)  # device 0 (interval 30) seen again: due 70 s after T0
    p._seen.clear()
    handed = []

    def sweep(*, now, ids):
        handed[-1].update(ids)
        return 0

    with mock.patch("yizhan.safety.ingest.pipeline.offline_sweep", side_effect=sweep):
        handed.append(set())
        clock.tick(41)  # 30 s + 10 s grace passed for the devices with interval 30 (not device 0)
        p._tick()
        handed.append(set())
        clock.tick(30)
        p._tick()
    assert handed[0] == {i for i in range(100_000) if i % 60 == 0} - {0}
    assert handed[1] == {0} | {i for i in range(100_000) if 1 <= i % 60 <= 30}
    assert len(p._due) == 100_000 - len(handed[0]) - len(handed[1])
