"""GB/T 26875.3 codec: every header field, sample frames written out by hand from the
layout (shared/research/gb26875.md), the confirm's exact bytes, the unit objects and
their bits, each broken form, and frame → SensorMessage."""

from datetime import datetime

import pytest

from yizhan.safety.gb26875 import objects as ob
from yizhan.safety.gb26875.codec import (
    Command,
    FrameError,
    build_frame,
    confirm_for,
    deny_for,
    parse_frame,
)
from yizhan.safety.gb26875.messages import frame_messages

T = datetime(2026, 12, 3, 18, 56, 13)          # label 0d 38 12 03 0c 1a
T_HEX = "0d 38 12 03 0c 1a"
NOW = datetime(2026, 12, 3, 18, 56, 14)        # the centre's clock in its confirms
UITD = 0x000012345678                          # the demo transmitter: 78 56 34 12 00 00
UITD_HEX = "78 56 34 12 00 00"
ZERO6 = "00 00 00 00 00 00"
RECEIVED = datetime(2026, 12, 3, 10, 56, 14).astimezone()


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# ---- sample frames, field by field -------------------------------------------------
HEARTBEAT = h("40 40" "01 00" "01 01" + T_HEX + UITD_HEX + ZERO6 + "00 00" "02" "99" "23 23")
HEARTBEAT_CONFIRM = h("40 40" "01 00" "01 01" "0e 38 12 03 0c 1a" + ZERO6 + UITD_HEX + "00 00" "03" "9b" "23 23")

DESC_HEX = "32 c2 a5 d7 df c0 c8" + " 00" * 24   # "2楼走廊" in GB18030, NUL padded to 31
COMPONENT_FIRE = h(
    "40 40" "34 12" "01 01" + T_HEX + UITD_HEX + ZERO6 + "30 00" "02"
    "02 01"                                     # type 2, one object
    "01 00 28" "02 01 00 00" "03 00" + DESC_HEX + T_HEX   # sys 1/0, type 40, addr 0x0102, normal+fire
    + "97" "23 23")
COMPONENT_FIRE_CONFIRM_FROM_AB = h(
    "40 40" "34 12" "01 01" "0e 38 12 03 0c 1a" "ab 00 00 00 00 00" + UITD_HEX + "00 00" "03" "8b" "23 23")

SYSTEM_FAULT = h("40 40" "02 00" "01 01" + T_HEX + UITD_HEX + ZERO6 + "0c 00" "02"
                 "01 01" "01 00 05 00" + T_HEX + "2e" "23 23")   # type 1: sys 1/0, normal+fault
UITD_FIRE = h("40 40" "03 00" "01 01" + T_HEX + UITD_HEX + ZERO6 + "09 00" "02"
              "15 01" "03" + T_HEX + "3d" "23 23")                # type 21: normal+fire

SAMPLES = [HEARTBEAT, HEARTBEAT_CONFIRM, COMPONENT_FIRE, COMPONENT_FIRE_CONFIRM_FROM_AB, SYSTEM_FAULT, UITD_FIRE]


@pytest.mark.parametrize("frame", SAMPLES, ids=["heartbeat", "confirm", "component", "confirm_ab", "system",
                                                 "uitd"])
def test_sample_checksums_by_the_rule(frame):
    """checksum = sum(bytes[2 .. 26+L]) & 0xFF; total length 30 + L."""
    length = frame[24] | frame[25] << 8
    assert len(frame) == 30 + length
    assert sum(frame[2:27 + length]) & 0xFF == frame[27 + length]
    parse_frame(frame)


def test_every_header_field():
    frame = build_frame(serial=h("34 12"), command=2, src=0x0A0B0C0D0E0F, dst=1, version=(1, 16),
                        time=T, app_data=ob.unit_bytes(28, [ob.encode_time(T)]))
    assert frame[:2] == b"@@" and frame[-2:] == b"##"
    assert frame[2:4] == h("34 12")
    assert frame[4:6] == h("01 10")
    assert frame[6:12] == h(T_HEX)
    assert frame[12:18] == h("0f 0e 0d 0c 0b 0a")
    assert frame[18:24] == h("01 00 00 00 00 00")
    assert frame[24:26] == h("08 00")
    assert frame[26] == 2
    f = parse_frame(frame)
    assert f.serial == 0x1234 and f.serial_raw == h("34 12")
    assert f.version == (1, 16)
    assert f.time == T and f.time_raw == h(T_HEX)
    assert f.src_address == 0x0A0B0C0D0E0F and f.src_raw == h("0f 0e 0d 0c 0b 0a")
    assert f.dst_address == 1 and f.dst_raw == h("01 00 00 00 00 00")
    assert f.app_length == 8 and f.command == Command.SEND
    assert f.app_data == h("1c 01" + T_HEX)
    assert f.unit.type_flag == 28 and f.unit.count == 1
    assert f.unit.objects[0].time == T


def test_build_reproduces_the_hand_written_samples():
    assert build_frame(serial=1, command=2, src=UITD, dst=0, time=T) == HEARTBEAT
    unit = ob.unit_bytes(2, [ob.component_status_bytes(sys_type=1, sys_addr=0, comp_type=40, comp_addr=0x0102,
                                                        status=0x0003, description="2楼走廊", time=T)])
    assert build_frame(serial=0x1234, command=2, src=UITD, dst=0, time=T, app_data=unit) == COMPONENT_FIRE
    unit = ob.unit_bytes(1, [ob.system_status_bytes(sys_type=1, sys_addr=0, status=0x0005, time=T)])
    assert build_frame(serial=2, command=2, src=UITD, dst=0, time=T, app_data=unit) == SYSTEM_FAULT
    unit = ob.unit_bytes(21, [ob.transmitter_status_bytes(status=0x03, time=T)])
    assert build_frame(serial=3, command=2, src=UITD, dst=0, time=T, app_data=unit) == UITD_FIRE


def test_confirm_bytes_exactly():
    assert confirm_for(parse_frame(HEARTBEAT), 0, NOW) == HEARTBEAT_CONFIRM
    assert confirm_for(parse_frame(COMPONENT_FIRE), 0xAB, NOW) == COMPONENT_FIRE_CONFIRM_FROM_AB


def test_confirm_echoes_the_serial_bytes_and_version_and_swaps_addresses():
    frame = parse_frame(build_frame(serial=h("00 01"), command=2, src=h("01 02 03 04 05 06"), dst=7,
                                    version=(1, 16), time=T))
    reply = parse_frame(confirm_for(frame, 0x112233445566, NOW))
    assert reply.serial_raw == h("00 01")   # big-endian readers get their serial back too
    assert reply.version == (1, 16)
    assert reply.command == Command.CONFIRM and reply.app_data == b""
    assert reply.src_address == 0x112233445566
    assert reply.dst_raw == h("01 02 03 04 05 06")
    assert reply.time == NOW
    assert parse_frame(deny_for(frame, 0, NOW)).command == Command.DENY


def test_time_label_that_is_no_date():
    frame = parse_frame(build_frame(serial=1, command=2, src=UITD, dst=0, time=bytes(6)))
    assert frame.time is None and frame.time_raw == bytes(6)
    assert ob.time_digits(bytes(6)) == "000000000000"
    assert ob.time_digits(h(T_HEX)) == "261203185613"


# ---- objects ---------------------------------------------------------------------------


def test_type1_system_status_bits():
    unit = parse_frame(SYSTEM_FAULT).unit
    (obj,) = unit.objects
    assert (obj.sys_type, obj.sys_addr, obj.status, obj.time) == (1, 0, 0x0005, T)
    assert obj.state == ob.SystemState.NORMAL | ob.SystemState.FAULT
    every = ob.SystemStatus(1, 1, 0x3FFF, None, bytes(6)).state
    for flag in ob.SystemState:
        assert flag in every
    assert ob.SystemState.MANUAL == 1 << 11 and ob.SystemState.RESET == 1 << 13


def test_type2_component_status():
    (obj,) = parse_frame(COMPONENT_FIRE).unit.objects
    assert (obj.sys_type, obj.sys_addr, obj.comp_type, obj.comp_addr) == (1, 0, 40, 0x0102)
    assert obj.status == 3 and obj.state == ob.ComponentState.NORMAL | ob.ComponentState.FIRE
    assert obj.description == "2楼走廊" and obj.time == T
    assert ob.ComponentState.POWER_FAULT == 1 << 8


@pytest.mark.parametrize("raw, text", [
    ("2楼走廊".encode("gb18030").ljust(31, b"\x00"), "2楼走廊"),
    ("2楼走廊".encode("gb18030").ljust(31, b" "), "2楼走廊"),                 # space padding (S2 sample)
    (b"\x00" * 31, ""),
    ("烟感€".encode("gb18030").ljust(31, b"\x00"), "烟感€"),                   # 4-byte GB18030
    (b"A\x00garbage-after-nul".ljust(31, b"\x00"), "A"),
])
def test_description_padding_and_encoding(raw, text):
    assert ob.decode_description(raw) == text


def test_type21_transmitter_status_bits():
    (obj,) = parse_frame(UITD_FIRE).unit.objects
    assert obj.status == 3 and obj.state == ob.TransmitterState.NORMAL | ob.TransmitterState.FIRE
    assert ob.TransmitterState(0x7F) == (ob.TransmitterState.NORMAL | ob.TransmitterState.FIRE
                                         | ob.TransmitterState.FAULT | ob.TransmitterState.MAIN_POWER_FAULT
                                         | ob.TransmitterState.BACKUP_POWER_FAULT | ob.TransmitterState.LINK_FAULT
                                         | ob.TransmitterState.LINE_FAULT)


def test_type24_and_28():
    unit = ob.decode_unit(ob.unit_bytes(24, [ob.transmitter_operation_bytes(flags=0x21, operator=7, time=T)]))
    (op,) = unit.objects
    assert op.operator == 7 and op.operations == ob.TransmitterOperation.RESET | ob.TransmitterOperation.CHECK_REPLY
    (tm,) = ob.decode_unit(ob.unit_bytes(28, [ob.encode_time(T)])).objects
    assert tm.time == T


def test_other_types_are_size_checked_or_kept_raw():
    analog = bytes(16)
    unit = ob.decode_unit(ob.unit_bytes(3, [analog, analog]))
    assert unit.count == 2 and all(isinstance(o, ob.RawObject) for o in unit.objects)
    with pytest.raises(ob.ObjectError):
        ob.decode_unit(bytes((3, 2)) + analog)
    config = bytes((1, 0, 3)) + b"abc"      # type 6: sys type, sys addr, length, data
    assert ob.decode_unit(bytes((6, 1)) + config).objects[0].data == config
    with pytest.raises(ob.ObjectError):
        ob.decode_unit(bytes((6, 1)) + config[:-1])
    unit = ob.decode_unit(bytes((200, 3)) + b"vendor")       # user-defined: not checkable
    assert unit.type_flag == 200 and unit.objects[0].data == b"vendor"


# ---- broken forms ---------------------------------------------------------------------


def _mutate(frame: bytes, offset: int, value: int, fix_checksum: bool = True) -> bytes:
    b = bytearray(frame)
    b[offset] = value
    if fix_checksum:
        length = b[24] | b[25] << 8
        b[27 + length] = sum(b[2:27 + length]) & 0xFF
    return bytes(b)


@pytest.mark.parametrize("data, reason", [
    (COMPONENT_FIRE[:-1], "bad_length"),
    (HEARTBEAT[:29], "bad_length"),
    (b"#" + HEARTBEAT[1:], "bad_marker"),
    (HEARTBEAT[:-1] + b"$", "bad_marker"),
    (_mutate(HEARTBEAT, 27, 0x98, fix_checksum=False), "bad_checksum"),
    (_mutate(COMPONENT_FIRE, 40, 0x00, fix_checksum=False), "bad_checksum"),
    (_mutate(HEARTBEAT, 24, 0x01), "bad_length"),                        # says 1, has 0
    (HEARTBEAT[:24] + h("01 04") + HEARTBEAT[26:], "bad_length"),        # 1025
    (_mutate(HEARTBEAT, 26, 0), "bad_command"),
    (_mutate(HEARTBEAT, 26, 7), "bad_command"),
    (_mutate(COMPONENT_FIRE, 28, 2), "bad_object_count"),                # says 2 objects, holds 1
    (_mutate(COMPONENT_FIRE, 28, 0), "bad_object_count"),
    (_mutate(SYSTEM_FAULT, 27, 21), "bad_object_count"),                 # type 21 needs 7 bytes, has 10
])
def test_broken_forms(data, reason):
    with pytest.raises(FrameError) as e:
        parse_frame(data)
    assert e.value.reason == reason


def test_user_defined_commands_and_no_unit_on_confirms():
    assert parse_frame(_mutate(HEARTBEAT, 26, 200)).command == 200
    frame = parse_frame(build_frame(serial=1, command=1, src=0, dst=UITD, time=T, app_data=b"\x5a\x01\x00"))
    assert frame.unit is None and frame.app_data == b"\x5a\x01\x00"


# ---- frame → SensorMessage --------------------------------------------------------------


def test_component_fire_message():
    (msg,) = frame_messages(parse_frame(COMPONENT_FIRE), received_at=RECEIVED)
    assert msg.channel == "gb26875" and msg.device_code is None
    assert msg.dedupe_key == "g4660:261203185613"
    assert msg.event == "alarm" and msg.gb_kind == "component"
    assert (msg.gb_address, msg.gb_sys_type, msg.gb_sys_addr, msg.gb_comp_type, msg.gb_comp_addr) == (
        UITD, 1, 0, 40, 0x0102)
    assert msg.gb_status == 3 and msg.gb_description == "2楼走廊"
    assert msg.ts.isoformat() == "2026-12-03T18:56:13+08:00"     # the device's clock is local
    assert msg.received_at == RECEIVED and msg.values == {} and msg.seq is None
    assert msg.extra["test"] is False and msg.extra["states"] == ["normal", "fire"]


def test_fire_bit_in_test_mode_is_still_an_alarm():
    unit = ob.unit_bytes(2, [ob.component_status_bytes(sys_type=1, sys_addr=0, comp_type=42, comp_addr=9,
                                                        status=0x0002, time=T)])
    (msg,) = frame_messages(parse_frame(build_frame(serial=5, command=2, src=UITD, dst=0, time=T, app_data=unit)),
                            received_at=RECEIVED)
    assert msg.event == "alarm" and msg.extra["test"] is True


def test_system_transmitter_and_heartbeat_messages():
    (sysmsg,) = frame_messages(parse_frame(SYSTEM_FAULT), received_at=RECEIVED)
    assert (sysmsg.gb_kind, sysmsg.event, sysmsg.gb_sys_type, sysmsg.gb_status) == ("system", "fault", 1, 5)
    (uitd,) = frame_messages(parse_frame(UITD_FIRE), received_at=RECEIVED)
    assert (uitd.gb_kind, uitd.event, uitd.gb_status, uitd.gb_comp_addr) == ("transmitter", "alarm", 3, None)
    (hb,) = frame_messages(parse_frame(HEARTBEAT), received_at=RECEIVED)
    assert (hb.gb_kind, hb.event, hb.dedupe_key, hb.gb_address) == ("heartbeat", "heartbeat", "g1:261203185613", UITD)
    assert hb.is_heartbeat
    unit = ob.unit_bytes(21, [ob.transmitter_status_bytes(status=0x01, time=T)])
    (normal,) = frame_messages(parse_frame(build_frame(serial=9, command=2, src=UITD, dst=0, time=T, app_data=unit)),
                               received_at=RECEIVED)
    assert normal.event is None and normal.gb_kind == "transmitter"   # a normal report: rules may clear
    unit = ob.unit_bytes(24, [ob.transmitter_operation_bytes(flags=1, operator=0, time=T)])
    (op,) = frame_messages(parse_frame(build_frame(serial=9, command=2, src=UITD, dst=0, time=T, app_data=unit)),
                           received_at=RECEIVED)
    assert op.gb_kind == "heartbeat" and op.extra["type"] == 24


def test_several_objects_get_their_own_keys():
    objs = [ob.component_status_bytes(sys_type=1, sys_addr=0, comp_type=40, comp_addr=a, status=0x0003,
                                      description=f"点{a}", time=T) for a in (1, 2, 3)]
    frame = parse_frame(build_frame(serial=77, command=2, src=UITD, dst=0, time=T, app_data=ob.unit_bytes(2, objs)))
    msgs = frame_messages(frame, received_at=RECEIVED)
    assert [m.dedupe_key for m in msgs] == ["g77:261203185613/1", "g77:261203185613/2", "g77:261203185613/3"]
    assert [m.gb_comp_addr for m in msgs] == [1, 2, 3]
    assert [m.gb_description for m in msgs] == ["点1", "点2", "点3"]
