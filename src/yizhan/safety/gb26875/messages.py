"""A valid GB/T 26875.3 frame → the pipeline's ``SensorMessage``s.

* type 1 (system status) → one ``gb_kind="system"`` message per object;
* type 2 (component status) → ``"component"`` per object, with the description text;
* type 21 (transmitter status) → ``"transmitter"``;
* anything else from the transmitter (an empty send-data frame, the link heartbeat;
  types 24, 28, 3 …; a response) → one ``"heartbeat"``: it only proves the link is up.

``event``: ``"alarm"`` when the fire bit is set, whatever bit 0 (test/normal) says (both
public sample fire frames send 0x0002; a test still has to reach the duty officer);
``"fault"`` when a fault or power/bus/link bit is set; else ``None`` (a normal report, so
the rules can clear what it had raised). ``gb_status`` carries the raw bits.

Idempotency: a transmitter retries a frame it saw no confirm for with the same serial and
time label, so ``dedupe_key`` is ``g<serial>:<yymmddhhmmss>`` (the frame's), with
``/<n>`` for the n-th object when a frame holds several (they may all land on the
transmitter's own Device when the components are not in its point table).
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from yizhan.safety.choices import IngestChannel
from yizhan.safety.gb26875.codec import Command, Frame
from yizhan.safety.gb26875.objects import (
    COMPONENT_FAULT_BITS,
    SYSTEM_FAULT_BITS,
    TRANSMITTER_FAULT_BITS,
    ComponentState,
    ComponentStatus,
    SystemState,
    SystemStatus,
    TransmitterState,
    TransmitterStatus,
    time_digits,
)
from yizhan.safety.ingest.message import SensorMessage

CHANNEL = IngestChannel.GB26875.value


def _aware(when: datetime | None) -> datetime | None:
    """A device's time label is its local wall clock (China: the project's TIME_ZONE)."""
    if when is None:
        return None
    return timezone.make_aware(when, timezone.get_default_timezone())


def _event(status: int, fire_bit: int, fault_bits: int) -> str | None:
    if status & fire_bit:
        return "alarm"
    if status & fault_bits:
        return "fault"
    return None


def frame_messages(frame: Frame, *, received_at: datetime) -> list[SensorMessage]:
    """The messages of one valid frame (never empty: at least a heartbeat)."""
    base = f"g{frame.serial}:{time_digits(frame.time_raw)}"
    frame_ts = _aware(frame.time)
    common = {
        "channel": CHANNEL, "device_code": None, "seq": None, "battery": None, "values": {},
        "received_at": received_at, "gb_address": frame.src_address,
    }
    objects = frame.unit.objects if frame.unit is not None and frame.command == Command.SEND else ()
    out: list[SensorMessage] = []
    several = len(objects) > 1
    for n, obj in enumerate(objects, 1):
        key = f"{base}/{n}" if several else base
        if isinstance(obj, ComponentStatus):
            out.append(SensorMessage(
                **common, dedupe_key=key, ts=_aware(obj.time) or frame_ts,
                event=_event(obj.status, ComponentState.FIRE, COMPONENT_FAULT_BITS),
                gb_sys_type=obj.sys_type, gb_sys_addr=obj.sys_addr, gb_comp_type=obj.comp_type,
                gb_comp_addr=obj.comp_addr, gb_status=obj.status, gb_description=obj.description,
                gb_kind="component",
                extra={"serial": frame.serial, "test": not obj.status & ComponentState.NORMAL,
                       "states": _names(obj.state)},
            ))
        elif isinstance(obj, SystemStatus):
            out.append(SensorMessage(
                **common, dedupe_key=key, ts=_aware(obj.time) or frame_ts,
                event=_event(obj.status, SystemState.FIRE, SYSTEM_FAULT_BITS),
                gb_sys_type=obj.sys_type, gb_sys_addr=obj.sys_addr, gb_status=obj.status, gb_kind="system",
                extra={"serial": frame.serial, "test": not obj.status & SystemState.NORMAL,
                       "states": _names(obj.state)},
            ))
        elif isinstance(obj, TransmitterStatus):
            out.append(SensorMessage(
                **common, dedupe_key=key, ts=_aware(obj.time) or frame_ts,
                event=_event(obj.status, TransmitterState.FIRE, TRANSMITTER_FAULT_BITS),
                gb_status=obj.status, gb_kind="transmitter",
                extra={"serial": frame.serial, "test": not obj.status & TransmitterState.NORMAL,
                       "states": _names(obj.state)},
            ))
    if not out:
        extra = {"serial": frame.serial, "command": frame.command}
        if frame.unit is not None:
            extra["type"] = frame.unit.type_flag
        out.append(SensorMessage(**common, dedupe_key=base, ts=frame_ts, event="heartbeat", gb_kind="heartbeat",
                                 extra=extra))
    return out


def _names(flags) -> list[str]:
    return [f.name.lower() for f in type(flags) if f in flags]
