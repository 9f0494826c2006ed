"""GB/T 26875.3-2011 application data unit: type flag, object count, objects.

Layout and bit meanings as cross-checked in ``shared/research/gb26875.md`` (7 public
implementations): every multi-byte integer little-endian, addresses binary (not BCD),
status words independent bit flags (bit0 1 = normal operation, 0 = test).

Decoded here: 1 system status, 2 component status, 21 transmitter (UITD) status, 24 UITD
operation, 28 UITD time. The other uplink types with a fixed object size (3, 4, 5, 7, 8,
25) are size-checked and kept raw; types 6 and 26 (length-prefixed) are walked; a
reserved or user-defined type cannot be checked and is kept raw as one blob.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

TIME_LABEL_LEN = 6
DESCRIPTION_LEN = 31

TYPE_SYSTEM_STATUS = 1
TYPE_COMPONENT_STATUS = 2
TYPE_TRANSMITTER_STATUS = 21
TYPE_TRANSMITTER_OPERATION = 24
TYPE_TRANSMITTER_TIME = 28

# bytes per object, time label included (research table; 3, 4, 5, 7, 8, 25 from the
# standard's tables as read by S1 S4)
OBJECT_SIZES: dict[int, int] = {
    1: 10,   # sys type, sys addr, status u16, time
    2: 46,   # sys type, sys addr, comp type, comp addr u32, status u16, description 31, time
    3: 16,   # sys type, sys addr, comp type, comp addr u32, analog type, analog value i16, time
    4: 10,   # sys type, sys addr, op flags, operator no., time
    5: 4,    # sys type, sys addr, main version, sub version (no time label)
    7: 38,   # sys type, sys addr, comp type, comp addr u32, description 31 (no time label)
    8: 8,    # sys type, sys addr, time
    21: 7,   # status, time
    24: 8,   # op flags, operator no., time
    25: 2,   # main version, sub version (no time label)
    28: 6,   # time
}
# length-prefixed objects: (bytes before the length byte, then length byte, then data)
VARIABLE_TYPES: dict[int, int] = {6: 2, 26: 0}


class ObjectError(ValueError):
    """The unit does not hold what its type flag and count say (``reason`` is a reject code)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class SystemState(enum.IntFlag):
    """Type 1 status word (building fire system: controller and its system)."""

    NORMAL = 1 << 0          # 1 normal operation, 0 test
    FIRE = 1 << 1
    FAULT = 1 << 2
    SHIELDED = 1 << 3        # 屏蔽
    SUPERVISORY = 1 << 4     # 监管
    STARTED = 1 << 5         # 1 started, 0 stopped
    FEEDBACK = 1 << 6
    DELAY = 1 << 7
    MAIN_POWER_FAULT = 1 << 8
    BACKUP_POWER_FAULT = 1 << 9
    BUS_FAULT = 1 << 10
    MANUAL = 1 << 11         # 1 manual, 0 automatic
    CONFIG_CHANGED = 1 << 12
    RESET = 1 << 13


class ComponentState(enum.IntFlag):
    """Type 2 status word (one detector, module, call point, ...)."""

    NORMAL = 1 << 0
    FIRE = 1 << 1
    FAULT = 1 << 2
    SHIELDED = 1 << 3
    SUPERVISORY = 1 << 4
    STARTED = 1 << 5
    FEEDBACK = 1 << 6
    DELAY = 1 << 7
    POWER_FAULT = 1 << 8


class TransmitterState(enum.IntFlag):
    """Type 21 status byte (the user information transmission device itself)."""

    NORMAL = 1 << 0          # 1 normal monitoring, 0 test
    FIRE = 1 << 1
    FAULT = 1 << 2
    MAIN_POWER_FAULT = 1 << 3
    BACKUP_POWER_FAULT = 1 << 4
    LINK_FAULT = 1 << 5      # link to the monitoring centre
    LINE_FAULT = 1 << 6      # monitored connection line


class TransmitterOperation(enum.IntFlag):
    """Type 24 operation flags."""

    RESET = 1 << 0
    MUTE = 1 << 1            # 消音
    MANUAL_ALARM = 1 << 2
    ALARM_CLEARED = 1 << 3   # 警情消除
    SELF_TEST = 1 << 4
    CHECK_REPLY = 1 << 5     # 查岗应答
    TEST = 1 << 6


# bits that mean "something is broken" (an event "fault" for the rules)
SYSTEM_FAULT_BITS = (SystemState.FAULT | SystemState.MAIN_POWER_FAULT | SystemState.BACKUP_POWER_FAULT
                     | SystemState.BUS_FAULT)
COMPONENT_FAULT_BITS = ComponentState.FAULT | ComponentState.POWER_FAULT
TRANSMITTER_FAULT_BITS = (TransmitterState.FAULT | TransmitterState.MAIN_POWER_FAULT
                          | TransmitterState.BACKUP_POWER_FAULT | TransmitterState.LINK_FAULT
                          | TransmitterState.LINE_FAULT)


def decode_time(raw: bytes) -> datetime | None:
    """Time label: sec, min, hour, day, month, year-2000, binary. Naive (the device's
    local clock); ``None`` when the bytes are no date (an unset clock sends zeros)."""
    sec, minute, hour, day, month, year = raw[0], raw[1], raw[2], raw[3], raw[4], raw[5]
    try:
        return datetime(2000 + year, month, day, hour, minute, sec)
    except ValueError:
        return None


def encode_time(when: datetime) -> bytes:
    """The 6-byte time label of a naive or aware datetime (its own wall clock)."""
    if not 2000 <= when.year <= 2255:
        raise ValueError("time label years are 2000-2255")
    return bytes((when.second, when.minute, when.hour, when.day, when.month, when.year - 2000))


def time_digits(raw: bytes) -> str:
    """``yymmddhhmmss`` of a raw time label (used in idempotency keys; no validation)."""
    return f"{raw[5]:02d}{raw[4]:02d}{raw[3]:02d}{raw[2]:02d}{raw[1]:02d}{raw[0]:02d}"


def decode_description(raw: bytes) -> str:
    """31 bytes of GB18030 text, padded with NUL or spaces (vendors differ)."""
    end = raw.find(b"\x00")
    if end >= 0:
        raw = raw[:end]
    return raw.decode("gb18030", errors="replace").strip(" \u3000")


def encode_description(text: str) -> bytes:
    raw = text.encode("gb18030")
    if len(raw) > DESCRIPTION_LEN:
        raise ValueError("description longer than 31 bytes in GB18030")
    return raw.ljust(DESCRIPTION_LEN, b"\x00")


@dataclass(frozen=True, slots=True)
class SystemStatus:
    """Type 1."""

    sys_type: int
    sys_addr: int
    status: int
    time: datetime | None
    time_raw: bytes

    @property
    def state(self) -> SystemState:
        return SystemState(self.status & 0x3FFF)


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    """Type 2. ``comp_addr`` is the 4 bytes as one LE integer: how a vendor splits it
    (zone + point, loop + point) differs, so it stays opaque."""

    sys_type: int
    sys_addr: int
    comp_type: int
    comp_addr: int
    status: int
    description: str
    time: datetime | None
    time_raw: bytes

    @property
    def state(self) -> ComponentState:
        return ComponentState(self.status & 0x1FF)


@dataclass(frozen=True, slots=True)
class TransmitterStatus:
    """Type 21."""

    status: int
    time: datetime | None
    time_raw: bytes

    @property
    def state(self) -> TransmitterState:
        return TransmitterState(self.status & 0x7F)


@dataclass(frozen=True, slots=True)
class TransmitterOperationInfo:
    """Type 24."""

    flags: int
    operator: int
    time: datetime | None
    time_raw: bytes

    @property
    def operations(self) -> TransmitterOperation:
        return TransmitterOperation(self.flags & 0x7F)


@dataclass(frozen=True, slots=True)
class TransmitterTime:
    """Type 28."""

    time: datetime | None
    time_raw: bytes


@dataclass(frozen=True, slots=True)
class RawObject:
    """An object of a type not decoded here (its bytes, time label included)."""

    type_flag: int
    data: bytes


@dataclass(frozen=True, slots=True)
class AppUnit:
    type_flag: int
    count: int
    objects: tuple


def _decode_object(type_flag: int, b: bytes):
    if type_flag == TYPE_SYSTEM_STATUS:
        t = b[4:10]
        return SystemStatus(b[0], b[1], b[2] | b[3] << 8, decode_time(t), t)
    if type_flag == TYPE_COMPONENT_STATUS:
        t = b[40:46]
        return ComponentStatus(b[0], b[1], b[2], int.from_bytes(b[3:7], "little"), b[7] | b[8] << 8,
                               decode_description(b[9:40]), decode_time(t), t)
    if type_flag == TYPE_TRANSMITTER_STATUS:
        t = b[1:7]
        return TransmitterStatus(b[0], decode_time(t), t)
    if type_flag == TYPE_TRANSMITTER_OPERATION:
        t = b[2:8]
        return TransmitterOperationInfo(b[0], b[1], decode_time(t), t)
    if type_flag == TYPE_TRANSMITTER_TIME:
        return TransmitterTime(decode_time(b), b)
    return RawObject(type_flag, b)


def decode_unit(data: bytes) -> AppUnit:
    """Decode an application data unit; raise ``ObjectError`` when the count and the
    object sizes do not add up to the unit's length (``bad_object_count``) or the unit is
    too short to hold a type and a count (``bad_length``)."""
    n = len(data)
    if n < 2:
        raise ObjectError("bad_length", f"application data of {n} byte(s): no type and count")
    type_flag, count = data[0], data[1]
    if count == 0:
        raise ObjectError("bad_object_count", f"type {type_flag}: object count 0")
    size = OBJECT_SIZES.get(type_flag)
    if size is not None:
        if 2 + count * size != n:
            raise ObjectError(
                "bad_object_count",
                f"type {type_flag}: {count} object(s) of {size} bytes need {2 + count * size} bytes, unit has {n}",
            )
        objects = tuple(_decode_object(type_flag, data[2 + i * size: 2 + (i + 1) * size]) for i in range(count))
        return AppUnit(type_flag, count, objects)
    if type_flag in VARIABLE_TYPES:
        head = VARIABLE_TYPES[type_flag]
        pos, objects = 2, []
        for i in range(count):
            if pos + head + 1 > n:
                raise ObjectError("bad_object_count", f"type {type_flag}: object {i + 1} of {count} is missing")
            end = pos + head + 1 + data[pos + head]
            if end > n:
                raise ObjectError("bad_object_count", f"type {type_flag}: object {i + 1} runs past the unit")
            objects.append(RawObject(type_flag, data[pos:end]))
            pos = end
        if pos != n:
            raise ObjectError("bad_object_count", f"type {type_flag}: {n - pos} byte(s) after {count} object(s)")
        return AppUnit(type_flag, count, tuple(objects))
    # reserved, downlink or user-defined type: the size is not known, nothing to check
    return AppUnit(type_flag, count, (RawObject(type_flag, data[2:]),))


# ---- building units (simulators, tests, bench) ---------------------------------------


def system_status_bytes(*, sys_type: int, sys_addr: int, status: int, time: datetime) -> bytes:
    return bytes((sys_type, sys_addr)) + status.to_bytes(2, "little") + encode_time(time)


def component_status_bytes(*, sys_type: int, sys_addr: int, comp_type: int, comp_addr: int, status: int,
                           description: str = "", time: datetime, description_raw: bytes | None = None) -> bytes:
    desc = encode_description(description) if description_raw is None else description_raw
    if len(desc) != DESCRIPTION_LEN:
        raise ValueError("description must be 31 bytes")
    return (bytes((sys_type, sys_addr, comp_type)) + comp_addr.to_bytes(4, "little")
            + status.to_bytes(2, "little") + desc + encode_time(time))


def transmitter_status_bytes(*, status: int, time: datetime) -> bytes:
    return bytes((status,)) + encode_time(time)


def transmitter_operation_bytes(*, flags: int, operator: int, time: datetime) -> bytes:
    return bytes((flags, operator)) + encode_time(time)


def unit_bytes(type_flag: int, objects: list[bytes]) -> bytes:
    """``type | count | objects``."""
    if not 1 <= len(objects) <= 255:
        raise ValueError("1 to 255 objects")
    return bytes((type_flag, len(objects))) + b"".join(objects)
