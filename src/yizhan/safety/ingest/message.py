"""The one message shape every transport hands to the pipeline (owner: rules helper).

MQTT and HTTP push parse a device's JSON with ``parse_json_payload``; the GB/T 26875.3
listener builds ``SensorMessage``s with the ``gb_*`` fields itself (``device_code=None``).

JSON (issue 9): ``{"seq": 17, "ts": 1764750000, "battery": 87, "event": "alarm",
"values": {"smoke_obscuration": 0.12}}`` — every key optional but a message must say
something (an event, values, a battery level or a sequence number for a heartbeat).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from yizhan.safety.errors import ImpossibleValue, MalformedMessage

EVENTS = frozenset({"alarm", "fault", "heartbeat", "tamper", "low_battery"})
GB_KINDS = frozenset({"system", "component", "transmitter", "heartbeat"})
MAX_PAYLOAD = 8192
MAX_VALUES = 32
MAX_KEY = 40
# device clocks: anything before 2020 or more than a day ahead is a broken clock, not data
_TS_MIN = 1577836800
_TS_AHEAD = 86400


@dataclass(frozen=True, slots=True)
class SensorMessage:
    channel: str
    device_code: str | None
    dedupe_key: str
    seq: int | None
    ts: datetime | None
    battery: int | None
    event: str | None
    values: dict[str, float]
    received_at: datetime
    gb_address: int | None = None
    gb_sys_type: int | None = None
    gb_sys_addr: int | None = None
    gb_comp_type: int | None = None
    gb_comp_addr: int | None = None
    gb_status: int | None = None
    gb_description: str = ""
    gb_kind: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def is_gb(self) -> bool:
        return self.gb_address is not None

    @property
    def is_heartbeat(self) -> bool:
        """Nothing but liveness: no event other than heartbeat, no values."""
        if self.is_gb:
            return self.gb_kind == "heartbeat"
        return (self.event in (None, "heartbeat")) and not self.values


def _int(value, name: str, *, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedMessage(field=name)
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise MalformedMessage(field=name)
        value = int(value)
    if value < lo or value > hi:
        raise MalformedMessage(field=name)
    return value


def parse_json_payload(device_code: str, raw: bytes, *, channel: str, received_at: datetime) -> SensorMessage:
    """Parse one device JSON payload; raises ``MalformedMessage`` (not JSON, wrong types,
    unknown event, nothing said) or ``ImpossibleValue`` (battery outside 0-100, a value
    that is not a finite number). Value ranges per metric are the rules' (``rules.py``)."""
    if not device_code or len(device_code) > 40:
        raise MalformedMessage(field="device")
    if raw is None or len(raw) > MAX_PAYLOAD:
        raise MalformedMessage(field="payload")
    try:
        data = json.loads(raw)
    except (ValueError, TypeError, RecursionError):
        raise MalformedMessage(field="payload") from None
    if not isinstance(data, dict):
        raise MalformedMessage(field="payload")

    seq = data.get("seq")
    if seq is not None:
        seq = _int(seq, "seq", lo=0, hi=2**62)
    ts = data.get("ts")
    if ts is not None:
        secs = _int(ts, "ts", lo=0, hi=2**40)
        if secs < _TS_MIN or secs > received_at.timestamp() + _TS_AHEAD:
            raise MalformedMessage(field="ts")
        ts = datetime.fromtimestamp(secs, UTC)
    battery = data.get("battery")
    if battery is not None:
        if isinstance(battery, bool) or not isinstance(battery, (int, float)):
            raise MalformedMessage(field="battery")
        if not math.isfinite(battery) or battery < 0 or battery > 100:
            raise ImpossibleValue(field="battery")
        battery = int(round(battery))
    event = data.get("event")
    if event is not None:
        if not isinstance(event, str) or event not in EVENTS:
            raise MalformedMessage(field="event")
    values = data.get("values")
    if values is None:
        values = {}
    elif not isinstance(values, dict) or len(values) > MAX_VALUES:
        raise MalformedMessage(field="values")
    else:
        clean = {}
        for key, value in values.items():
            if not key or len(key) > MAX_KEY:
                raise MalformedMessage(field="values")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise MalformedMessage(field=f"values.{key}")
            if not math.isfinite(value):
                raise ImpossibleValue(field=f"values.{key}")
            clean[key] = float(value)
        values = clean
    if seq is None and event is None and not values and battery is None:
        raise MalformedMessage(field="payload")
    if seq is not None:
        dedupe = f"s{seq}"
    elif ts is not None:
        dedupe = f"t{int(ts.timestamp())}:{event or ''}"
    else:
        dedupe = ""  # no key: not deduplicated (a heartbeat or a plain value)
    return SensorMessage(channel=channel, device_code=device_code, dedupe_key=dedupe, seq=seq, ts=ts,
                         battery=battery, event=event, values=values, received_at=received_at)
