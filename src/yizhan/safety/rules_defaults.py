"""The default alarm rules (owner: rules helper): one row per device kind, metric and alarm
kind. ``yizhan demo`` and tests call ``rules_install_defaults()``; a manager may change the
rows afterwards (the ingest re-reads them, see ``rules.rules_forget``).

Units are in the metric names: smoke obscuration in dB/m (EN 54-7 detectors alarm between
0.05 and 0.2 dB/m), combustible gas in % LEL (GB 15322: alarm set point ≤ 25 % LEL), CO in
ppm, residual current in mA (GB 14287.2: 20-1000 mA, 300 mA usual), current in A, cable and
shed temperature in °C (PVC insulation is rated 70 °C), battery in %. ``min_valid`` /
``max_valid`` are what a sensor can measure: outside is refused as impossible and counted
(negative ppm, 900 °C on a cable sensor).
"""

from __future__ import annotations

from yizhan.safety.choices import AlarmKind, DeviceKind, Severity
from yizhan.safety.models import AlarmRule
from yizhan.safety.rules import rules_forget

# (device_kind, metric, op, threshold, duration_s, repeat, alarm_kind, severity, min_valid, max_valid)
DEFAULT_RULES: list[dict] = [
    dict(device_kind=DeviceKind.SMOKE, metric="smoke_obscuration", op=">=", threshold=0.1, duration_s=0, repeat=1,
         alarm_kind=AlarmKind.SMOKE, severity=Severity.CRITICAL, min_valid=0.0, max_valid=20.0),
    dict(device_kind=DeviceKind.SMOKE, metric="battery", op="<=", threshold=20, duration_s=0, repeat=1,
         alarm_kind=AlarmKind.LOW_BATTERY, severity=Severity.WARNING, min_valid=0.0, max_valid=100.0),
    dict(device_kind=DeviceKind.GAS, metric="gas_lel", op=">=", threshold=20.0, duration_s=0, repeat=2,
         alarm_kind=AlarmKind.GAS, severity=Severity.CRITICAL, min_valid=0.0, max_valid=100.0),
    dict(device_kind=DeviceKind.GAS, metric="co_ppm", op=">=", threshold=150.0, duration_s=30, repeat=1,
         alarm_kind=AlarmKind.GAS, severity=Severity.CRITICAL, min_valid=0.0, max_valid=10000.0),
    dict(device_kind=DeviceKind.GAS, metric="battery", op="<=", threshold=20, duration_s=0, repeat=1,
         alarm_kind=AlarmKind.LOW_BATTERY, severity=Severity.WARNING, min_valid=0.0, max_valid=100.0),
    dict(device_kind=DeviceKind.ELECTRICAL, metric="residual_current_ma", op=">=", threshold=300.0, duration_s=10,
         repeat=1, alarm_kind=AlarmKind.ELECTRICAL, severity=Severity.MAJOR, min_valid=0.0, max_valid=5000.0),
    dict(device_kind=DeviceKind.ELECTRICAL, metric="current_a", op=">=", threshold=63.0, duration_s=30, repeat=1,
         alarm_kind=AlarmKind.ELECTRICAL, severity=Severity.MAJOR, min_valid=0.0, max_valid=1000.0),
    dict(device_kind=DeviceKind.ELECTRICAL, metric="cable_temp_c", op=">=", threshold=70.0, duration_s=10, repeat=1,
         alarm_kind=AlarmKind.TEMPERATURE, severity=Severity.MAJOR, min_valid=-40.0, max_valid=250.0),
    dict(device_kind=DeviceKind.SHED_TEMPERATURE, metric="shed_temp_c", op=">=", threshold=60.0, duration_s=0,
         repeat=2, alarm_kind=AlarmKind.TEMPERATURE, severity=Severity.CRITICAL, min_valid=-40.0, max_valid=300.0),
]

def rules_install_defaults() -> list:
    """Create the default rules that are missing (a second call writes nothing); returns
    every rule row. Bulk: one read, at most one insert."""
    have = {(r.device_kind, r.metric, r.alarm_kind) for r in AlarmRule.objects.all()}
    missing = [AlarmRule(**spec) for spec in DEFAULT_RULES
               if (str(spec["device_kind"]), spec["metric"], str(spec["alarm_kind"])) not in have]
    if missing:
        AlarmRule.objects.bulk_create(missing)
        rules_forget()
    return list(AlarmRule.objects.all())
