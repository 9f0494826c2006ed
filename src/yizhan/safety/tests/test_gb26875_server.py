"""GB/T 26875.3 listener over real TCP on a free port: confirms (exact bytes) only for
valid uplink frames the pipeline took; each broken form is rejected, unconfirmed, and the
connection keeps working; then the same against the real pipeline and database (a fire
bit from the registered transmitter raises a FIRE alarm, in the point table or not)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from datetime import datetime

import pytest

from yizhan.safety.gb26875 import objects as ob
from yizhan.safety.gb26875.codec import build_frame, confirm_for, parse_frame
from yizhan.safety.gb26875.server import Gb26875Listener, listener_settings

pytestmark = pytest.mark.usefixtures("outside_playwright_loop")  # see core/testing/fixtures.py

T = datetime(2026, 12, 3, 18, 56, 13)
NOW = datetime(2026, 12, 3, 18, 56, 14)
UITD = 0x000012345678
CENTRE = 0x0000000000AB
WAIT = 5.0


def heartbeat(serial: int, src: int = UITD) -> bytes:
    return build_frame(serial=serial, command=2, src=src, dst=0, time=T)


def component(serial: int, *, addr: int = 0x0102, status: int = 0x0003, text: str = "2楼走廊",
              sys_type: int = 1, sys_addr: int = 0, src: int = UITD) -> bytes:
    unit = ob.unit_bytes(2, [ob.component_status_bytes(sys_type=sys_type, sys_addr=sys_addr, comp_type=40,
                                                        comp_addr=addr, status=status, description=text, time=T)])
    return build_frame(serial=serial, command=2, src=src, dst=0, time=T, app_data=unit)


def uitd_status(serial: int, status: int) -> bytes:
    unit = ob.unit_bytes(21, [ob.transmitter_status_bytes(status=status, time=T)])
    return build_frame(serial=serial, command=2, src=UITD, dst=0, time=T, app_data=unit)


def confirm(frame: bytes) -> bytes:
    return confirm_for(parse_frame(frame), CENTRE, NOW)


class Outcome:
    def __init__(self, reason=""):
        self.status = "rejected" if reason else "accepted"
        self.reason = reason


class FakePipeline:
    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []
        self.rejects = []
        self.flushes = 0
        self.fail_next = 0          # answer internal_error to the next N messages

    def handle_many(self, msgs):
        out = []
        with self.lock:
            for m in msgs:
                if self.fail_next:
                    self.fail_next -= 1
                    out.append(Outcome("internal_error"))
                else:
                    self.messages.append(m)
                    out.append(Outcome())
        return out

    def reject(self, **kw):
        with self.lock:
            self.rejects.append(kw)

    def flush(self):
        self.flushes += 1

    def serials(self):
        return [int(m.dedupe_key[1:].split(":")[0]) for m in self.messages]


class MainThreadExecutor(concurrent.futures.Executor):
    """Runs the pipeline's work in the test's own thread (its database connection and
    transaction) while the event loop runs in another thread."""

    def __init__(self):
        self.work = queue.Queue()

    def submit(self, fn, /, *args, **kwargs):
        f = concurrent.futures.Future()
        self.work.put((f, fn, args, kwargs))
        return f

    def serve(self, until: threading.Thread):
        while until.is_alive() or not self.work.empty():
            try:
                f, fn, args, kwargs = self.work.get(timeout=0.02)
            except queue.Empty:
                continue
            try:
                f.set_result(fn(*args, **kwargs))
            except BaseException as e:  # noqa: BLE001 - handed to the awaiting side
                f.set_exception(e)


def run(scenario, pipeline, executor: MainThreadExecutor | None = None, **kw):
    """Start a listener on a free port, run ``scenario(listener, connect)``, close."""
    async def main():
        listener = Gb26875Listener(pipeline=pipeline, centre_address=CENTRE, clock=lambda: NOW,
                                   executor=executor, **kw)
        await listener.start("127.0.0.1", 0)

        async def connect():
            return await asyncio.open_connection("127.0.0.1", listener.port)

        try:
            return await asyncio.wait_for(scenario(listener, connect), 30)
        finally:
            await listener.close()

    if executor is None:
        return asyncio.run(main())
    result = {}

    def loop_thread():
        try:
            result["value"] = asyncio.run(main())
        except BaseException as e:  # noqa: BLE001 - re-raised in the test's thread
            result["error"] = e

    t = threading.Thread(target=loop_thread)
    t.start()
    executor.serve(t)
    t.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


async def read_exactly(reader, n):
    return await asyncio.wait_for(reader.readexactly(n), WAIT)


async def nothing_more(reader, seconds=0.3):
    try:
        data = await asyncio.wait_for(reader.read(100), seconds)
    except TimeoutError:
        return True
    return data == b""


def test_round_trip_confirms_exact_bytes():
    pipe = FakePipeline()
    frames = [heartbeat(1), component(2), uitd_status(3, 0x01)]

    async def scenario(listener, connect):
        reader, writer = await connect()
        writer.write(b"".join(frames))                       # three frames in one segment
        got = await read_exactly(reader, 90)
        assert got == b"".join(confirm(f) for f in frames)
        big = component(4)
        for i in range(0, len(big), 7):                      # one frame in 7-byte pieces
            writer.write(big[i:i + 7])
            await writer.drain()
            await asyncio.sleep(0)
        assert await read_exactly(reader, 30) == confirm(big)
        writer.close()
        return listener.stats

    stats = run(scenario, pipe)
    assert pipe.serials() == [1, 2, 3, 4]
    assert [m.gb_kind for m in pipe.messages] == ["heartbeat", "component", "transmitter", "component"]
    assert pipe.messages[1].event == "alarm" and pipe.messages[1].gb_description == "2楼走廊"
    assert pipe.rejects == []
    assert stats["confirmed"] == 4 and stats["frames"] == 4
    reply = parse_frame(confirm(frames[1]))
    assert reply.src_address == CENTRE and reply.dst_address == UITD and reply.command == 3


def _broken(frame: bytes, form: str) -> bytes:
    b = bytearray(frame)
    length = b[24] | b[25] << 8
    if form == "checksum":
        b[27 + length] ^= 0xFF
    elif form == "start":
        b[0:2] = b"##"
    elif form == "end":
        b[-2:] = b"@#"
    elif form == "length":
        b[24] = (length + 50) & 0xFF
        b[27 + length] = sum(b[2:27 + length]) & 0xFF
    elif form == "count":
        b[28] = 3
        b[27 + length] = sum(b[2:27 + length]) & 0xFF
    return bytes(b)


@pytest.mark.parametrize("form, reason", [("checksum", "bad_checksum"), ("start", "bad_marker"),
                                          ("end", "bad_marker"), ("length", "bad_length"),
                                          ("count", "bad_object_count")])
def test_broken_frame_no_confirm_nothing_recorded_connection_kept(form, reason):
    pipe = FakePipeline()

    async def scenario(listener, connect):
        reader, writer = await connect()
        good1, bad, good3 = component(1), _broken(component(2, text="坏"), form), component(3, addr=7)
        writer.write(good1 + bad + good3)
        assert await read_exactly(reader, 60) == confirm(good1) + confirm(good3)
        assert await nothing_more(reader)
        writer.write(heartbeat(4))                            # same connection, later
        assert await read_exactly(reader, 30) == confirm(heartbeat(4))
        writer.close()

    run(scenario, pipe)
    assert pipe.serials() == [1, 3, 4]                        # nothing of frame 2 reached the pipeline
    assert [r["reason"] for r in pipe.rejects][:1] == [reason]
    first = pipe.rejects[0]
    assert first["channel"] == "gb26875" and first["peer"].startswith("127.0.0.1:")
    assert first["excerpt"] and bytes.fromhex(first["excerpt"])  # hex of the bytes refused
    if form in ("checksum", "count", "length"):
        assert first["device_code"] == "000012345678"


def test_a_lone_frame_with_a_lying_length_is_given_up_after_silence():
    pipe = FakePipeline()

    async def scenario(listener, connect):
        reader, writer = await connect()
        writer.write(_broken(heartbeat(1), "length"))
        assert await nothing_more(reader, 0.6)                # partial timeout 0.2 s: rejected meanwhile
        writer.write(heartbeat(2))
        assert await read_exactly(reader, 30) == confirm(heartbeat(2))
        writer.close()

    run(scenario, pipe, partial_timeout=0.2)
    assert [r["reason"] for r in pipe.rejects] == ["bad_length"]
    assert pipe.serials() == [2]


def test_pipeline_trouble_means_no_confirm_and_the_retry_is_confirmed():
    pipe = FakePipeline()
    pipe.fail_next = 1

    async def scenario(listener, connect):
        reader, writer = await connect()
        writer.write(component(5))
        assert await nothing_more(reader)
        writer.write(component(5))                            # the device retries the same frame
        assert await read_exactly(reader, 30) == confirm(component(5))
        writer.close()

    run(scenario, pipe)
    assert pipe.serials() == [5]


def test_replies_and_user_commands_get_no_confirm():
    pipe = FakePipeline()

    async def scenario(listener, connect):
        reader, writer = await connect()
        writer.write(build_frame(serial=1, command=3, src=UITD, dst=0, time=T)
                     + build_frame(serial=2, command=200, src=UITD, dst=0, time=T) + heartbeat(3))
        assert await read_exactly(reader, 30) == confirm(heartbeat(3))
        assert await nothing_more(reader)
        writer.close()

    run(scenario, pipe)
    assert [m.gb_kind for m in pipe.messages] == ["heartbeat"] * 3   # still liveness


def test_many_connections_at_once():
    pipe = FakePipeline()

    async def one(connect, n):
        reader, writer = await connect()
        for k in range(10):
            f = component(n * 100 + k, addr=n)
            writer.write(f)
            assert await read_exactly(reader, 30) == confirm(f)
        writer.close()

    async def scenario(listener, connect):
        await asyncio.gather(*(one(connect, n) for n in range(20)))
        return listener.stats

    stats = run(scenario, pipe)
    assert sorted(pipe.serials()) == sorted(n * 100 + k for n in range(20) for k in range(10))
    assert stats["confirmed"] == 200 and stats["connections"] == 20


def test_settings_and_command(monkeypatch, settings):
    monkeypatch.delenv("YIZHAN_GB26875_HOST", raising=False)
    monkeypatch.delenv("YIZHAN_GB26875_PORT", raising=False)
    monkeypatch.delenv("YIZHAN_GB26875_CENTRE_ADDRESS", raising=False)
    assert listener_settings() == {"host": "127.0.0.1", "port": 9026, "centre_address": 0}
    monkeypatch.setenv("YIZHAN_GB26875_PORT", "19026")
    monkeypatch.setenv("YIZHAN_GB26875_CENTRE_ADDRESS", "0x0000000000AB")
    settings.YIZHAN_GB26875_HOST = "0.0.0.0"
    assert listener_settings() == {"host": "0.0.0.0", "port": 19026, "centre_address": 0xAB}

    from django.core.management import call_command

    from yizhan.safety.management.commands import gb26875 as command

    seen = {}

    async def fake_serve(**kw):
        seen.update(kw)

    monkeypatch.setattr(command, "serve", fake_serve)
    call_command("gb26875", "--port", "0", "--centre-address", "0x12")
    assert (seen["host"], seen["port"], seen["centre_address"]) == ("0.0.0.0", 0, 0x12)


# ---- against the real pipeline and database ---------------------------------------------


@pytest.fixture
def real(safety_tree):
    from yizhan.safety.ingest.pipeline import IngestPipeline

    return safety_tree, IngestPipeline()


@pytest.mark.django_db
def test_fire_from_the_transmitter_raises_fire_alarms(real):
    from yizhan.safety.models import Alarm, DeviceEvent, IngestReject

    st, pipeline = real
    unknown_point = component(11, addr=0x0999, status=0x0002, text="3楼东侧烟感")  # not in the point table
    known_point = component(12, addr=0x0102, status=0x0003)                       # st.component

    async def scenario(listener, connect):
        reader, writer = await connect()
        bad = _broken(component(10, addr=0x0555), "checksum")
        writer.write(bad + unknown_point + known_point)
        assert await read_exactly(reader, 60) == confirm(unknown_point) + confirm(known_point)
        writer.write(unknown_point)                           # a retry: a duplicate, confirmed again
        assert await read_exactly(reader, 30) == confirm(unknown_point)
        writer.close()

    run(scenario, pipeline, executor=MainThreadExecutor())
    on_uitd = Alarm.objects.get(device=st.transmitter, kind="fire")
    assert on_uitd.severity == "critical" and on_uitd.channel == "gb26875" and on_uitd.trigger_count == 1
    assert on_uitd.details["comp_addr"] == 0x0999 and on_uitd.details["description"] == "3楼东侧烟感"
    assert on_uitd.details["in_point_table"] is False
    on_point = Alarm.objects.get(device=st.component, kind="fire")
    assert on_point.open and on_point.place == st.building
    assert DeviceEvent.objects.filter(device=st.transmitter).count() == 1
    reject = IngestReject.objects.get()
    assert (reject.channel, reject.reason, reject.device_code) == ("gb26875", "bad_checksum", "000012345678")
    assert not DeviceEvent.objects.filter(dedupe_key__startswith="g10:").exists()


@pytest.mark.django_db
def test_heartbeats_keep_the_transmitter_online_and_strangers_are_refused(real):
    from yizhan.safety.models import Alarm, IngestReject

    st, pipeline = real
    stranger = heartbeat(1, src=0x0000DEADBEEF)

    async def scenario(listener, connect):
        reader, writer = await connect()
        writer.write(heartbeat(1) + uitd_status(2, 0x01) + stranger)
        assert await read_exactly(reader, 90) == confirm(heartbeat(1)) + confirm(uitd_status(2, 0x01)) + \
            confirm(stranger)
        writer.close()

    run(scenario, pipeline, executor=MainThreadExecutor())
    st.transmitter.refresh_from_db()
    assert st.transmitter.status == "online" and st.transmitter.last_seen_at is not None
    assert IngestReject.objects.get().reason == "unknown_device"
    assert not Alarm.objects.exists()
