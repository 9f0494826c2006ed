"""GB/T 26875.3-2011 frames: parse, build, and the centre's confirm.

```
off len field
 0   2  start "@@"
 2   2  serial no. (业务流水号), u16 LE; a reply echoes the two bytes
 4   2  version: main (1), user/vendor
 6   6  time label: sec min hour day month year-2000 (binary)
12   6  source address, 6-byte LE integer
18   6  destination address
24   2  application data length L, u16 LE (data only), at most 1024
26   1  command: 1 control, 2 send data, 3 confirm, 4 request, 5 response, 6 deny
27   L  application data unit (type, count, objects); may be empty
27+L 1  checksum = sum(bytes[2 .. 26+L]) & 0xFF
28+L 2  end "##"
```
A frame is 30 + L bytes. See ``shared/research/gb26875.md`` for the sources.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from yizhan.safety.gb26875.objects import (
    AppUnit,
    ObjectError,
    decode_time,
    decode_unit,
    encode_time,
)

START = b"@@"
END = b"##"
HEADER_LEN = 27          # start marker through the command byte
OVERHEAD = 30            # header + checksum + end marker
MAX_APP_LEN = 1024
MAX_FRAME_LEN = OVERHEAD + MAX_APP_LEN
ADDRESS_MAX = 2**48 - 1


class Command(enum.IntEnum):
    CONTROL = 1
    SEND = 2
    CONFIRM = 3
    REQUEST = 4
    RESPONSE = 5
    DENY = 6


# commands whose application data is an uplink unit (type, count, objects)
UNIT_COMMANDS = frozenset({Command.SEND, Command.RESPONSE})


class FrameError(ValueError):
    """Not a valid frame. ``reason`` is the reject code (``bad_marker``, ``bad_length``,
    ``bad_checksum``, ``bad_command``, ``bad_object_count``)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Frame:
    serial: int                  # LE reading of serial_raw
    serial_raw: bytes            # the two bytes as sent (echoed in the confirm)
    version: tuple[int, int]     # (main, user)
    time: datetime | None        # the sender's clock, naive; None when not a date
    time_raw: bytes
    src_address: int
    src_raw: bytes
    dst_address: int
    dst_raw: bytes
    command: int
    app_data: bytes
    unit: AppUnit | None = None  # decoded unit (send data / response with data)

    @property
    def app_length(self) -> int:
        return len(self.app_data)

    @property
    def is_heartbeat(self) -> bool:
        """An empty send-data frame (the S2 docs' link heartbeat)."""
        return self.command == Command.SEND and not self.app_data


def checksum(frame_bytes: bytes | bytearray | memoryview, end: int) -> int:
    """Sum of bytes[2:end] (serial through the last application byte) mod 256."""
    return sum(frame_bytes[2:end]) & 0xFF


def _address_bytes(value: int | bytes) -> bytes:
    if isinstance(value, bytes | bytearray):
        if len(value) != 6:
            raise ValueError("an address is 6 bytes")
        return bytes(value)
    if not 0 <= value <= ADDRESS_MAX:
        raise ValueError("an address is 0 .. 2**48-1")
    return value.to_bytes(6, "little")


def build_frame(*, serial: int | bytes, command: int, src: int | bytes, dst: int | bytes, app_data: bytes = b"",
                time: datetime | bytes, version: tuple[int, int] = (1, 1)) -> bytes:
    """The bytes of one frame. ``serial`` an int (written LE) or the two raw bytes;
    ``time`` a datetime (its wall clock) or the six raw bytes."""
    if isinstance(serial, bytes | bytearray):
        if len(serial) != 2:
            raise ValueError("a serial is 2 bytes")
        serial_raw = bytes(serial)
    else:
        serial_raw = serial.to_bytes(2, "little")
    time_raw = encode_time(time) if isinstance(time, datetime) else bytes(time)
    if len(time_raw) != 6:
        raise ValueError("a time label is 6 bytes")
    if len(app_data) > MAX_APP_LEN:
        raise ValueError("application data is at most 1024 bytes")
    if not 0 <= command <= 255:
        raise ValueError("a command is one byte")
    body = bytearray(START)
    body += serial_raw
    body += bytes(version)
    body += time_raw
    body += _address_bytes(src)
    body += _address_bytes(dst)
    body += len(app_data).to_bytes(2, "little")
    body.append(command)
    body += app_data
    body.append(checksum(body, len(body)))
    body += END
    return bytes(body)


def parse_frame(data: bytes | bytearray | memoryview, *, decode: bool = True) -> Frame:
    """Parse exactly one frame. With ``decode``, a send-data/response frame's unit is
    decoded too, so a count that does not match the length is a ``FrameError``."""
    data = bytes(data)
    n = len(data)
    if n < OVERHEAD:
        raise FrameError("bad_length", f"{n} bytes, a frame is at least 30")
    if data[0:2] != START:
        raise FrameError("bad_marker", "no start marker @@")
    length = data[24] | data[25] << 8
    if length > MAX_APP_LEN:
        raise FrameError("bad_length", f"declared application length {length} over 1024")
    if n != OVERHEAD + length:
        raise FrameError("bad_length", f"declared application length {length} but {n - OVERHEAD} bytes")
    if data[28 + length:30 + length] != END:
        raise FrameError("bad_marker", "no end marker ##")
    if checksum(data, 27 + length) != data[27 + length]:
        raise FrameError("bad_checksum",
                         f"checksum {data[27 + length]:02x}, computed {checksum(data, 27 + length):02x}")
    command = data[26]
    if command == 0 or 7 <= command <= 127:
        raise FrameError("bad_command", f"reserved command {command}")
    app = data[27:27 + length]
    unit = None
    if decode and app and command in UNIT_COMMANDS:
        try:
            unit = decode_unit(app)
        except ObjectError as e:
            raise FrameError(e.reason, e.detail) from None
    time_raw = data[6:12]
    src_raw, dst_raw = data[12:18], data[18:24]
    return Frame(
        serial=data[2] | data[3] << 8,
        serial_raw=data[2:4],
        version=(data[4], data[5]),
        time=decode_time(time_raw),
        time_raw=time_raw,
        src_address=int.from_bytes(src_raw, "little"),
        src_raw=src_raw,
        dst_address=int.from_bytes(dst_raw, "little"),
        dst_raw=dst_raw,
        command=command,
        app_data=app,
        unit=unit,
    )


def confirm_for(frame: Frame, centre_address: int, now: datetime) -> bytes:
    """The centre's confirm (command 3) of ``frame``: the same serial bytes and version,
    the centre as source and the sender as destination (its raw address bytes), no
    application data, the centre's own clock as time label."""
    return reply_for(frame, Command.CONFIRM, centre_address, now)


def deny_for(frame: Frame, centre_address: int, now: datetime) -> bytes:
    """A deny (command 6) of a frame whose header could be read."""
    return reply_for(frame, Command.DENY, centre_address, now)


def reply_for(frame: Frame, command: int, centre_address: int, now: datetime) -> bytes:
    return build_frame(serial=frame.serial_raw, command=command, src=centre_address, dst=frame.src_raw,
                       time=now, version=frame.version)
