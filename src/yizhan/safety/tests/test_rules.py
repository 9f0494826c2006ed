"""Rules: parsing, thresholds with duration and repetition, valid ranges, events (owner: rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from yizhan.safety.choices import AlarmKind, DeviceKind, IngestChannel, Severity
from yizhan.safety.errors import ImpossibleValue, MalformedMessage
from yizhan.safety.ingest.message import SensorMessage, parse_json_payload
from yizhan.safety.models import AlarmRule
from yizhan.safety.rules import evaluate, rules_forget
from yizhan.safety.rules_defaults import DEFAULT_RULES, rules_install_defaults

T0 = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)


def msg(values=None, *, event=None, battery=None, at=T0, seq=None, code="T-X"):
    return SensorMessage(channel=IngestChannel.MQTT, device_code=code, dedupe_key=f"s{seq}" if seq else "", seq=seq,
                         ts=None, battery=battery, event=event, values=values or {}, received_at=at)


# ---- parse_json_payload (no database) ------------------------------------------------------


def test_parse_full_payload():
    m = parse_json_payload("HZ-00001", b'{"seq": 17, "ts": 1764750000, "battery": 87, "event": "alarm", '
                           b'"values": {"smoke_obscuration": 0.12}}', channel="mqtt", received_at=T0)
    assert m.device_code == "HZ-00001" and m.seq == 17 and m.dedupe_key == "s17"
    assert m.ts == datetime.fromtimestamp(1764750000, UTC) and m.battery == 87 and m.event == "alarm"
    assert m.values == {"smoke_obscuration": 0.12} and m.received_at == T0 and not m.is_heartbeat


def test_parse_heartbeat_and_values_only():
    hb = parse_json_payload("HZ-1", b'{"seq": 1, "event": "heartbeat", "battery": 90}', channel="mqtt",
                            received_at=T0)
    assert hb.is_heartbeat and hb.battery == 90
    v = parse_json_payload("HZ-1", b'{"values": {"gas_lel": 3}}', channel="http", received_at=T0)
    assert not v.is_heartbeat and v.values == {"gas_lel": 3.0} and v.dedupe_key == ""


@pytest.mark.parametrize("raw, field", [
    (b"not json", "payload"), (b"[1, 2]", "payload"), (b"{}", "payload"), (b'{"seq": "x"}', "seq"),
    (b'{"seq": -1}', "seq"), (b'{"seq": 1.5}', "seq"), (b'{"event": "party"}', "event"),
    (b'{"values": [1]}', "values"), (b'{"values": {"t": "hot"}}', "values.t"), (b'{"ts": 12}', "ts"),
    (b'{"battery": "full"}', "battery"), (b'{"seq": true}', "seq"), (b"\xff\xfe", "payload"),
    (b'{"values": {"t": true}}', "values.t"),
])
def test_parse_malformed(raw, field):
    with pytest.raises(MalformedMessage) as exc:
        parse_json_payload("HZ-1", raw, channel="mqtt", received_at=T0)
    assert exc.value.field == field


@pytest.mark.parametrize("raw, field", [
    (b'{"battery": 150}', "battery"), (b'{"battery": -1}', "battery"), (b'{"values": {"t": NaN}}', "values.t"),
    (b'{"values": {"t": Infinity}}', "values.t"),
])
def test_parse_impossible(raw, field):
    with pytest.raises(ImpossibleValue) as exc:
        parse_json_payload("HZ-1", raw, channel="mqtt", received_at=T0)
    assert exc.value.field == field


def test_parse_refuses_oversize_and_bad_code():
    with pytest.raises(MalformedMessage):
        parse_json_payload("HZ-1", b'{"seq": 1, "pad": "' + b"x" * 9000 + b'"}', channel="mqtt", received_at=T0)
    with pytest.raises(MalformedMessage):
        parse_json_payload("", b'{"seq": 1}', channel="mqtt", received_at=T0)


# ---- rules ------------------------------------------------------------------------------------


@pytest.fixture
def rules(db):
    rules_forget()
    rows = rules_install_defaults()
    yield rows
    rules_forget()


class Dev:
    def __init__(self, kind, id=1):
        self.kind, self.id = kind, id


def test_defaults_installed_once(rules):
    assert len(rules) == len(DEFAULT_RULES)
    assert rules_install_defaults() and AlarmRule.objects.count() == len(DEFAULT_RULES)


def test_threshold_fires_at_once_without_duration(rules):
    smoke = Dev(DeviceKind.SMOKE)
    assert evaluate(smoke, msg({"smoke_obscuration": 0.05})) == []
    [t] = evaluate(smoke, msg({"smoke_obscuration": 0.12}))
    assert (t.kind, t.severity, t.clear) == (AlarmKind.SMOKE, Severity.CRITICAL, False)
    assert t.details["value"] == 0.12 and t.details["threshold"] == 0.1


def test_duration_must_hold(rules):
    elec = Dev(DeviceKind.ELECTRICAL, 2)  # residual current ≥ 300 mA for 10 s
    assert evaluate(elec, msg({"residual_current_ma": 400}, at=T0)) == []
    assert evaluate(elec, msg({"residual_current_ma": 420}, at=T0 + timedelta(seconds=5))) == []
    [t] = evaluate(elec, msg({"residual_current_ma": 410}, at=T0 + timedelta(seconds=10)))
    assert t.kind == AlarmKind.ELECTRICAL and t.details["held_s"] == 10
    # dropping below resets the clock
    assert evaluate(elec, msg({"residual_current_ma": 100}, at=T0 + timedelta(seconds=11))) == []
    assert evaluate(elec, msg({"residual_current_ma": 400}, at=T0 + timedelta(seconds=12))) == []
    assert evaluate(elec, msg({"residual_current_ma": 400}, at=T0 + timedelta(seconds=21))) == []
    assert evaluate(elec, msg({"residual_current_ma": 400}, at=T0 + timedelta(seconds=22)))


def test_repetition_in_a_row(rules):
    gas = Dev(DeviceKind.GAS, 3)  # gas_lel ≥ 20 seen twice in a row
    assert evaluate(gas, msg({"gas_lel": 25})) == []
    assert evaluate(gas, msg({"gas_lel": 5})) == []  # broken: counts again
    assert evaluate(gas, msg({"gas_lel": 25})) == []
    [t] = evaluate(gas, msg({"gas_lel": 30}))
    assert t.kind == AlarmKind.GAS and t.details["seen"] == 2
    # still above: re-triggers on every further message
    assert evaluate(gas, msg({"gas_lel": 31}))[0].details["seen"] == 3


def test_state_is_per_device(rules):
    a, b = Dev(DeviceKind.GAS, 10), Dev(DeviceKind.GAS, 11)
    assert evaluate(a, msg({"gas_lel": 25})) == []
    assert evaluate(b, msg({"gas_lel": 25})) == []
    assert evaluate(a, msg({"gas_lel": 25}))
    assert evaluate(b, msg({"gas_lel": 25}))


def test_device_time_used_for_duration(rules):
    elec = Dev(DeviceKind.ELECTRICAL, 4)
    first = SensorMessage(channel="mqtt", device_code="x", dedupe_key="s1", seq=1, ts=T0, battery=None, event=None,
                          values={"cable_temp_c": 80}, received_at=T0 + timedelta(seconds=30))
    late = SensorMessage(channel="mqtt", device_code="x", dedupe_key="s2", seq=2, ts=T0 + timedelta(seconds=10),
                         battery=None, event=None, values={"cable_temp_c": 85}, received_at=T0 + timedelta(seconds=31))
    assert evaluate(elec, first) == []
    assert evaluate(elec, late)[0].kind == AlarmKind.TEMPERATURE


@pytest.mark.parametrize("kind, values", [
    (DeviceKind.GAS, {"co_ppm": -5}), (DeviceKind.ELECTRICAL, {"cable_temp_c": 900}),
    (DeviceKind.SHED_TEMPERATURE, {"shed_temp_c": 900}), (DeviceKind.SMOKE, {"smoke_obscuration": -0.1}),
    (DeviceKind.GAS, {"gas_lel": 101}), (DeviceKind.ELECTRICAL, {"residual_current_ma": -1}),
])
def test_impossible_values_refused(rules, kind, values):
    dev = Dev(kind, 5)
    with pytest.raises(ImpossibleValue) as exc:
        evaluate(dev, msg(values))
    assert exc.value.field == f"values.{next(iter(values))}"


def test_impossible_value_changes_no_state(rules):
    shed = Dev(DeviceKind.SHED_TEMPERATURE, 6)  # shed_temp_c ≥ 60 twice
    assert evaluate(shed, msg({"shed_temp_c": 70})) == []
    with pytest.raises(ImpossibleValue):
        evaluate(shed, msg({"shed_temp_c": 70, "humidity": 1, "cable_temp_c": 0, "x": 1} | {"shed_temp_c": 950}))
    [t] = evaluate(shed, msg({"shed_temp_c": 72}))
    assert t.kind == AlarmKind.TEMPERATURE and t.severity == Severity.CRITICAL


def test_unknown_metrics_are_kept_not_judged(rules):
    assert evaluate(Dev(DeviceKind.SMOKE, 7), msg({"humidity": 55, "temperature_c": -300})) == []


def test_events_map_to_alarm_kinds(rules):
    assert [t.kind for t in evaluate(Dev(DeviceKind.SMOKE), msg(event="alarm"))] == [AlarmKind.SMOKE]
    assert [t.kind for t in evaluate(Dev(DeviceKind.GAS), msg(event="alarm"))] == [AlarmKind.GAS]
    assert [t.kind for t in evaluate(Dev(DeviceKind.TRANSMITTER), msg(event="alarm"))] == [AlarmKind.FIRE]
    assert [t.kind for t in evaluate(Dev(DeviceKind.SMOKE), msg(event="tamper"))] == [AlarmKind.TAMPER]
    assert [t.kind for t in evaluate(Dev(DeviceKind.SMOKE), msg(event="fault"))] == [AlarmKind.FAULT]
    assert evaluate(Dev(DeviceKind.SMOKE), msg(event="heartbeat")) == []


def test_event_and_value_of_one_kind_give_one_trigger(rules):
    triggers = evaluate(Dev(DeviceKind.SMOKE, 8), msg({"smoke_obscuration": 0.3}, event="alarm"))
    assert [t.kind for t in triggers] == [AlarmKind.SMOKE]


def test_low_battery_and_recovery(rules):
    smoke = Dev(DeviceKind.SMOKE, 9)
    [t] = evaluate(smoke, msg(battery=15))
    assert (t.kind, t.clear, t.severity) == (AlarmKind.LOW_BATTERY, False, Severity.WARNING)
    assert evaluate(smoke, msg(battery=22)) == []  # inside the hysteresis: nothing
    [c] = evaluate(smoke, msg(battery=90))
    assert (c.kind, c.clear) == (AlarmKind.LOW_BATTERY, True)
    [e] = evaluate(smoke, msg(event="low_battery", battery=30))
    assert e.kind == AlarmKind.LOW_BATTERY and not e.clear  # the device says so: believed


def test_edited_rule_seen_after_forget(rules):
    AlarmRule.objects.filter(device_kind=DeviceKind.SMOKE, metric="smoke_obscuration").update(threshold=0.5)
    rules_forget()
    assert evaluate(Dev(DeviceKind.SMOKE), msg({"smoke_obscuration": 0.3})) == []
    AlarmRule.objects.filter(device_kind=DeviceKind.SMOKE, metric="smoke_obscuration").update(active=False)
    rules_forget()
    assert evaluate(Dev(DeviceKind.SMOKE), msg({"smoke_obscuration": 5})) == []


@pytest.mark.django_db
def test_safety_tree_builds(safety_tree):
    st = safety_tree
    assert st.smoke.place == st.rental_house and st.smoke.jurisdiction == st.tree.community
    assert st.component.transmitter == st.transmitter and st.transmitter.gb_address == 0x000012345678
    assert len(st.rules) == len(DEFAULT_RULES) and len(st.responders) == 2
    assert {d.kind for d in st.devices.values()} == set(DeviceKind.values)
