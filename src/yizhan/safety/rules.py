"""Alarm rules (owner: rules helper): thresholds with duration and repetition per device
kind, read from ``AlarmRule``; the per-device state lives in this process.

    triggers = evaluate(device, msg)    # device: anything with .id and .kind (DeviceFacts, Device)

A rule ``value op threshold`` fires when the condition has held for ``duration_s`` seconds
(measured on the messages' own times: ``ts`` when the device sent one, else when we got
it) AND was seen ``repeat`` messages in a row; a message where it does not hold resets it.
While it keeps holding, each further message re-triggers (the open alarm's count goes
up). Values outside a rule's ``min_valid``/``max_valid`` raise ``ImpossibleValue`` before
any state changes (the pipeline refuses and counts the message).

Events map to alarms by device kind (``EVENT_ALARMS``): a smoke detector's ``alarm`` is a
SMOKE alarm, a gas detector's a GAS alarm, a transmitter's a FIRE alarm, ...
"""

from __future__ import annotations

import operator
import threading
import time
from dataclasses import dataclass, field

from yizhan.safety.choices import SEVERITY_RANK, AlarmKind, DeviceKind, Severity
from yizhan.safety.errors import ImpossibleValue
from yizhan.safety.models import AlarmRule

RELOAD_SECONDS = 30.0  # rules edited elsewhere are seen within this
# low battery clears when the level is this much above the rule's threshold (hysteresis)
BATTERY_CLEAR_MARGIN = 5

_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}

# device kind -> alarm kind of its "alarm" event
EVENT_ALARMS = {
    DeviceKind.SMOKE: AlarmKind.SMOKE,
    DeviceKind.GAS: AlarmKind.GAS,
    DeviceKind.ELECTRICAL: AlarmKind.ELECTRICAL,
    DeviceKind.SHED_TEMPERATURE: AlarmKind.TEMPERATURE,
    DeviceKind.TRANSMITTER: AlarmKind.FIRE,
    DeviceKind.COMPONENT: AlarmKind.FIRE,
}
EVENT_SEVERITY = {
    AlarmKind.FIRE: Severity.CRITICAL, AlarmKind.SMOKE: Severity.CRITICAL, AlarmKind.GAS: Severity.CRITICAL,
    AlarmKind.ELECTRICAL: Severity.MAJOR, AlarmKind.TEMPERATURE: Severity.MAJOR,
    AlarmKind.FAULT: Severity.MINOR, AlarmKind.TAMPER: Severity.MAJOR, AlarmKind.LOW_BATTERY: Severity.WARNING,
    AlarmKind.OFFLINE: Severity.MINOR,
}
# kinds that start a dispatch (alarms.py) and that only a person clears
DISPATCH_KINDS = frozenset({AlarmKind.FIRE, AlarmKind.SMOKE, AlarmKind.GAS})


@dataclass(frozen=True, slots=True)
class Trigger:
    kind: str
    severity: str
    details: dict = field(default_factory=dict)
    rule_id: int | None = None
    clear: bool = False  # True: the condition is gone (low battery recovered, fault gone)


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    metric: str
    op: str
    threshold: float
    duration_s: int
    repeat: int
    alarm_kind: str
    severity: str
    min_valid: float | None
    max_valid: float | None

    def holds(self, value: float) -> bool:
        return _OPS[self.op](value, self.threshold)


class RuleSet:
    """The active rules by device kind, and the valid range per (kind, metric)."""

    def __init__(self, rows):
        self.by_kind: dict[str, list[Rule]] = {}
        self.ranges: dict[tuple[str, str], tuple[float | None, float | None]] = {}
        for r in rows:
            rule = Rule(r.id, r.metric, r.op, r.threshold, r.duration_s, r.repeat, r.alarm_kind, r.severity,
                        r.min_valid, r.max_valid)
            self.by_kind.setdefault(r.device_kind, []).append(rule)
            lo, hi = self.ranges.get((r.device_kind, r.metric), (None, None))
            if r.min_valid is not None:
                lo = r.min_valid if lo is None else max(lo, r.min_valid)
            if r.max_valid is not None:
                hi = r.max_valid if hi is None else min(hi, r.max_valid)
            self.ranges[(r.device_kind, r.metric)] = (lo, hi)

    def check_ranges(self, kind: str, values: dict) -> None:
        for metric, value in values.items():
            lo, hi = self.ranges.get((kind, metric), (None, None))
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise ImpossibleValue(field=f"values.{metric}")


_lock = threading.Lock()
_ruleset: RuleSet | None = None
_loaded_at = 0.0
# (device id, rule id) -> [first time the condition held (epoch s), messages in a row]
_state: dict[tuple[int, int], list] = {}


def ruleset() -> RuleSet:
    global _ruleset, _loaded_at
    rs = _ruleset
    if rs is not None and time.monotonic() - _loaded_at < RELOAD_SECONDS:
        return rs
    with _lock:
        if _ruleset is None or time.monotonic() - _loaded_at >= RELOAD_SECONDS:
            _ruleset = RuleSet(AlarmRule.objects.filter(active=True))
            _loaded_at = time.monotonic()
        return _ruleset


def rules_forget() -> None:
    """Drop the cached rules and every device's rule state (tests; after a rule edit)."""
    global _ruleset
    with _lock:
        _ruleset = None
        _state.clear()


def check_values(device, values: dict) -> None:
    """Raise ``ImpossibleValue`` when a value is outside what the device kind measures."""
    if values:
        ruleset().check_ranges(device.kind, values)


def evaluate(device, msg, *, is_open=None) -> list[Trigger]:
    """The alarms this message raises (or clears) for ``device``; raises ``ImpossibleValue``
    first when a value is impossible (no state changed then). ``is_open(kind)`` (optional)
    says whether the device has that alarm open: clears are only given for those."""
    rs = ruleset()
    values = msg.values
    kind = device.kind
    if values:
        rs.check_ranges(kind, values)
    out: list[Trigger] = []
    event = msg.event
    if event and event != "heartbeat":
        if event == "alarm":
            alarm_kind = EVENT_ALARMS.get(kind, AlarmKind.FIRE)
        else:
            alarm_kind = {"fault": AlarmKind.FAULT, "tamper": AlarmKind.TAMPER,
                          "low_battery": AlarmKind.LOW_BATTERY}[event]
        details = {"event": event}
        if values:
            details["values"] = dict(values)
        if event == "low_battery" and msg.battery is not None:
            details["battery"] = msg.battery
        out.append(Trigger(alarm_kind, EVENT_SEVERITY[alarm_kind], details))
    rules = rs.by_kind.get(kind)
    if not rules:
        return out
    at = (msg.ts or msg.received_at).timestamp()
    for rule in rules:
        if rule.metric == "battery":
            value = msg.battery if msg.battery is not None else values.get("battery")
        else:
            value = values.get(rule.metric)
        if value is None:
            continue  # the message says nothing about this metric: state unchanged
        key = (device.id, rule.id)
        if not rule.holds(value):
            _state.pop(key, None)
            if (rule.alarm_kind == AlarmKind.LOW_BATTERY and _recovered(rule, value)
                    and (is_open is None or is_open(rule.alarm_kind))):
                out.append(Trigger(rule.alarm_kind, rule.severity, {"metric": rule.metric, "value": value},
                                   rule.id, clear=True))
            continue
        st = _state.get(key)
        if st is None:
            st = _state[key] = [at, 0]
        st[1] += 1
        if st[1] >= rule.repeat and at - st[0] >= rule.duration_s:
            out.append(Trigger(rule.alarm_kind, rule.severity, {
                "metric": rule.metric, "value": value, "op": rule.op, "threshold": rule.threshold,
                "duration_s": rule.duration_s, "repeat": rule.repeat, "held_s": round(at - st[0], 3),
                "seen": st[1], "rule": rule.id}, rule.id))
    if out:
        # one alarm kind once per message: the most severe reading wins
        seen: dict[tuple[str, bool], Trigger] = {}
        for t in out:
            k = (t.kind, t.clear)
            if k not in seen or _rank(t.severity) < _rank(seen[k].severity):
                seen[k] = t
        out = [t for t in seen.values() if not (t.clear and (t.kind, False) in seen)]
    return out


def _recovered(rule: Rule, value: float) -> bool:
    return value >= rule.threshold + BATTERY_CLEAR_MARGIN


def _rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity, 9)
