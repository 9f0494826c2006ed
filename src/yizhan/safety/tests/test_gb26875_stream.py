"""GB/T 26875.3 stream parser: several frames per segment, a frame split across segments
(any split), garbage between frames, and each broken form: the valid frames around a bad
one always come out, and the buffer never holds more than one frame."""

from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yizhan.safety.gb26875 import objects as ob
from yizhan.safety.gb26875.codec import MAX_FRAME_LEN, Frame, build_frame, parse_frame
from yizhan.safety.gb26875.stream import BadFrame, FrameStream

T = datetime(2026, 12, 3, 18, 56, 13)
UITD = 0x000012345678


def heartbeat(serial: int) -> bytes:
    return build_frame(serial=serial, command=2, src=UITD, dst=0, time=T)


def component(serial: int, addr: int = 0x0102, status: int = 3, text: str = "2楼走廊") -> bytes:
    unit = ob.unit_bytes(2, [ob.component_status_bytes(sys_type=1, sys_addr=0, comp_type=40, comp_addr=addr,
                                                        status=status, description=text, time=T)])
    return build_frame(serial=serial, command=2, src=UITD, dst=0, time=T, app_data=unit)


def feed_all(chunks) -> tuple[list, FrameStream]:
    s = FrameStream()
    out = []
    for c in chunks:
        out += s.feed(c)
    return out, s


def kinds(items) -> list[str]:
    return [f"bad:{i.reason}" if isinstance(i, BadFrame) else f"frame:{i.serial}" for i in items]


def test_several_frames_in_one_segment():
    data = heartbeat(1) + component(2) + heartbeat(3)
    out, s = feed_all([data])
    assert kinds(out) == ["frame:1", "frame:2", "frame:3"]
    assert out[1] == parse_frame(component(2))
    assert s.pending() == 0


def test_a_frame_split_byte_by_byte():
    data = component(7)
    out, s = feed_all([data[i:i + 1] for i in range(len(data))])
    assert kinds(out) == ["frame:7"] and s.pending() == 0


def test_nothing_comes_out_until_the_last_byte():
    s = FrameStream()
    data = component(8)
    assert s.feed(data[:-1]) == [] and s.pending() == len(data) - 1
    assert kinds(s.feed(data[-1:])) == ["frame:8"]


def _frames():
    serial = st.integers(0, 0xFFFF)
    hb = serial.map(heartbeat)
    comp = st.builds(component, serial, st.integers(0, 2**32 - 1), st.integers(0, 0x1FF),
                     st.text(st.sampled_from("烟感楼层走廊@#1A "), max_size=8))
    return st.lists(st.one_of(hb, comp), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=_frames(), data=st.data())
def test_any_split_of_a_valid_stream_yields_the_same_frames(frames, data):
    stream = b"".join(frames)
    cuts = sorted(data.draw(st.sets(st.integers(1, len(stream) - 1), max_size=12)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    out, s = feed_all(chunks)
    assert all(isinstance(o, Frame) for o in out)
    assert out == [parse_frame(f) for f in frames]
    assert s.pending() == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=_frames(), data=st.data())
def test_garbage_between_frames_resynchronises(frames, data):
    """Stray bytes (``@`` and ``#`` included) between frames: every valid frame still
    comes out, in order, whatever the split."""
    garbage = st.binary(max_size=12).filter(lambda g: b"@@" not in g)
    parts = []
    for f in frames:
        parts += [data.draw(garbage), f]
    parts.append(data.draw(garbage).rstrip(b"@"))
    stream = b"".join(parts)
    cuts = sorted(data.draw(st.sets(st.integers(1, len(stream) - 1), max_size=8)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    out, s = feed_all(chunks)
    out += s.expire()
    assert [o for o in out if isinstance(o, Frame)] == [parse_frame(f) for f in frames]
    assert s.pending() == 0


def _broken(frame: bytes, form: str) -> bytes:
    b = bytearray(frame)
    length = b[24] | b[25] << 8
    if form == "checksum":
        b[27 + length] ^= 0x5A
    elif form == "start":
        b[0:2] = b"#@"
    elif form == "end":
        b[-2:] = b"$$"
    elif form == "longer":            # a lying length, larger than the data
        b[24] = (length + 40) & 0xFF
        b[27 + length] = sum(b[2:27 + length]) & 0xFF
    elif form == "shorter":           # a lying length, smaller than the data
        b[24] = 2
        b[27 + length] = sum(b[2:27 + length]) & 0xFF
    elif form == "huge":
        b[24:26] = (5000).to_bytes(2, "little")
    elif form == "count":             # two objects announced, one sent
        b[28] = 2
        b[27 + length] = sum(b[2:27 + length]) & 0xFF
    return bytes(b)


FORMS = {"checksum": "bad_checksum", "start": "bad_marker", "end": "bad_marker", "longer": "bad_length",
         "shorter": "bad_length", "huge": "bad_length", "count": "bad_object_count"}


def test_each_broken_form_between_valid_frames():
    for form, reason in FORMS.items():
        data = component(1) + _broken(component(2, text="坏帧"), form) + component(3) + heartbeat(4)
        for step in (1, 5, 64, len(data)):
            out, s = feed_all([data[i:i + step] for i in range(0, len(data), step)])
            assert [o.serial for o in out if isinstance(o, Frame)] == [1, 3, 4], (form, step)
            bad = [o for o in out if isinstance(o, BadFrame)]
            assert bad and bad[0].reason == reason, (form, step, bad)
            assert s.pending() == 0


def test_a_lying_length_waits_only_until_the_next_frame():
    s = FrameStream()
    assert s.feed(_broken(heartbeat(1), "longer")) == []      # could still be a frame arriving
    out = s.feed(heartbeat(2))
    assert kinds(out) == ["bad:bad_length", "frame:2"]
    assert out[0].size == 30


def test_expire_gives_up_an_incomplete_frame():
    s = FrameStream()
    part = component(5)[:40]
    assert s.feed(part) == []
    (bad,) = s.expire()
    assert bad.reason == "bad_length" and bad.raw == part and s.pending() == 0
    assert kinds(s.feed(heartbeat(6))) == ["frame:6"]


def test_garbage_cut_into_pieces_is_one_reject():
    out, s = feed_all([b"GET / HT", b"TP/1.1\r\n", b"\r\n"])
    assert out == [] and s.pending() == 18
    out = s.feed(heartbeat(1))
    assert kinds(out) == ["bad:bad_marker", "frame:1"]
    assert out[0].raw == b"GET / HTTP/1.1\r\n\r\n" and out[0].size == 18


def test_the_buffer_holds_at_most_one_frame():
    s = FrameStream()
    rng = bytes((i * 37 + 11) % 256 for i in range(200_000))
    for i in range(0, len(rng), 1000):
        s.feed(rng[i:i + 1000])
        assert s.pending() < MAX_FRAME_LEN + 4096
    s.feed(b"@@" + bytes(22) + (1024).to_bytes(2, "little"))   # a header announcing the maximum
    assert 26 <= s.pending() < MAX_FRAME_LEN + 4096
    for _ in range(200):
        s.feed(b"\x00" * 10)
        assert s.pending() < MAX_FRAME_LEN + 4096
    out = s.feed(heartbeat(9))
    assert [o.serial for o in out if isinstance(o, Frame)] == [9]


def test_stray_at_before_a_frame():
    out, _ = feed_all([b"@", heartbeat(1)[:10], heartbeat(1)[10:]])
    assert kinds(out) == ["bad:bad_marker", "frame:1"] and out[0].size == 1
