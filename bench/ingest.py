#!/usr/bin/env python
"""Benchmark of the MQTT ingest (issue 9, "Performance").

    .venv/bin/python bench/ingest.py [--messages 30000] [--devices 11810] [--offline-devices 100000]

Broker: a private Mosquitto (the system binary, the same as the local one on 1883) on a
spare port with persistence in a temporary directory and no queue limit, so it can be
restarted without touching anyone's broker. Database: a fresh SQLite file
``/tmp/yizhan-bench-ingest.sqlite3`` (``--postgres``: a database this script creates and
drops), migrated, the test fixture's places and responders, ``--devices`` sensors
``HZ-00001``… (smoke, gas, electrical in turn; 30 s heartbeat interval) in the rental house.
Publishers run in child processes (paho, QoS 1); the ingest runs in this process (the
``yizhan ingest`` code path: ``default_pipeline()`` flushing in its thread, ``Consumer``)
except in the killed-process fault, which runs the real ``yizhan ingest`` command.

1. **Sustained msg/s per ingest process, rules on** — three persistent sessions subscribe
   (plain topic), ``--messages`` messages are queued for each (80 % heartbeats, 20 % raw
   values, one smoke alarm in 2,000), then each session is drained: a no-op paho
   subscriber (the drain limit of this broker and client library), our consumer with a
   pipeline that does nothing (its own cost: parsing, batching, manual acks), then the
   ingest (parse, rules, liveness, events, alarms and their dispatch). ratio = ÷ no-op.
2. **Alarm latency** publish → responder notified (``Dispatch.notified_at``: the
   assignments and notices are written in that transaction), p50/p99: the devices at one
   message per 30 s each for 15 s, then a 10× burst for 5 s, a smoke alarm on a fresh
   device every ~0.4 s throughout. Lost = alarms published without a dispatch. Measured
   from the ``publish()`` call (which includes the load generator's own client queue when
   one Python process cannot send as fast as asked) and from the broker's PUBACK.
3. **Offline detection** for ``--offline-devices`` devices (10 s interval, so offline is
   due 20 s after the last heartbeat): one heartbeat each through the pipeline, then the
   pipeline's timer; delay = OFFLINE alarm start − last heartbeat (goal ≤ interval + 10 s,
   plus at most the 1 s tick).
4. **Faults** — a burst of 20,000 messages with 50 alarms on fresh devices, (a) the broker
   restarted (SIGTERM, persistence) 1 s in; (b) ``yizhan ingest`` killed (SIGKILL) 1 s in
   and started again with the same client id. Lost = alarms published without an Alarm.
   On the plain topic: Mosquitto 2.0.11 does not restore ``$share`` subscriptions from its
   persistence file (see README).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQLITE_PATH = Path("/tmp/yizhan-bench-ingest.sqlite3")
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
TOPIC = "yizhan/devices/+/up"
sys.path.insert(0, str(ROOT / "src"))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}] {msg}", file=sys.stderr, flush=True)


def pct(xs, q):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    pos = q * (len(xs) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def code(i: int) -> str:
    return f"HZ-{i:05d}"


def smoke_devices(n_devices: int) -> list[int]:
    return [i for i in range(1, n_devices + 1) if i % 3 == 1]


# ---- the broker -------------------------------------------------------------------------------


class Mosquitto:
    def __init__(self):
        from yizhan.safety.mqtt.broker import free_port

        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="yizhan-bench-mosq-")
        os.chmod(self.dir, 0o777)  # mosquitto drops root before writing its persistence file
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                    f"persistence_location {self.dir}/\nmax_queued_messages 0\nmax_queued_bytes 0\n"
                    "autosave_interval 3600\n")
        self.proc = None

    def start(self):
        from yizhan.safety.mqtt.broker import broker_answers

        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen([binary, "-c", self.conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not broker_answers("127.0.0.1", self.port, 0.2):
            if time.monotonic() > deadline:
                raise RuntimeError("mosquitto did not start")
            time.sleep(0.05)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        self.proc = None

    def restart(self):
        self.stop()
        time.sleep(0.3)
        self.start()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- publisher (child process) -----------------------------------------------------------------


def payloads(spec: dict):
    """(topic, bytes, alarm device code or None) in order."""
    n_dev = spec["devices"]
    base = int(time.time() * 1000)
    seq = {}
    alarms = dict((int(k), v) for k, v in spec.get("alarms", {}).items())  # message index -> device index
    now = int(time.time())
    for k in range(spec["messages"]):
        if k in alarms:
            i = alarms[k]
            kind_alarm = True
        else:
            i = k % n_dev + 1
            kind_alarm = False
        s = seq[i] = seq.get(i, base) + 1
        if kind_alarm:
            body = b'{"seq":%d,"ts":%d,"battery":80,"event":"alarm","values":{"smoke_obscuration":0.3}}' % (s, now)
        elif k % 5 == 0:
            vals = (b'"gas_lel":2.5', b'"smoke_obscuration":0.01', b'"residual_current_ma":40,"cable_temp_c":35')[i % 3]
            body = b'{"seq":%d,"ts":%d,"battery":80,"values":{%s}}' % (s, now, vals)
        else:
            body = b'{"seq":%d,"ts":%d,"battery":80,"event":"heartbeat"}' % (s, now)
        yield f"yizhan/devices/{code(i)}/up", body, (code(i) if kind_alarm else None)


def publish_child(spec: dict) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    done: set[int] = set()
    alarm_mids: dict[int, str] = {}
    acked_times: dict[str, float] = {}

    def on_publish(c, u, mid, rc, p):
        done.add(mid)
        if mid in alarm_mids:
            acked_times[alarm_mids[mid]] = time.time()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{os.getpid()}", protocol=mqtt.MQTTv311)
    client.max_inflight_messages_set(2000)
    client.max_queued_messages_set(0)
    client.reconnect_delay_set(min_delay=0.2, max_delay=1)
    client.on_publish = on_publish
    connected = threading.Event()
    client.on_connect = lambda c, u, f, rc, p: connected.set()
    client.connect_async("127.0.0.1", spec["port"], keepalive=10)
    client.loop_start()
    connected.wait(10)
    phases = spec.get("phases")  # [(rate, seconds)] or None: as fast as possible
    gen = payloads(spec)
    mids, alarm_times = [], {}
    t0 = time.monotonic()
    if phases:
        start = time.monotonic()
        k = 0
        for rate, seconds in phases:
            count = int(rate * seconds)
            for j in range(count):
                due = start + j / rate
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                try:
                    topic, body, alarm = next(gen)
                except StopIteration:
                    break
                if alarm:
                    alarm_times[alarm] = time.time()
                mids.append(client.publish(topic, body, qos=1).mid)
                if alarm:
                    alarm_mids[mids[-1]] = alarm
                k += 1
            start += seconds
    else:
        for topic, body, alarm in gen:
            if alarm:
                alarm_times[alarm] = time.time()
            mids.append(client.publish(topic, body, qos=1).mid)
            if alarm:
                alarm_mids[mids[-1]] = alarm
            while len(mids) - len(done) > 5000:  # do not run the client's queue away from the broker
                time.sleep(0.001)
    sent = time.monotonic() - t0
    deadline = time.monotonic() + 120
    while len(done) < len(set(mids)) and time.monotonic() < deadline:
        time.sleep(0.02)
    client.disconnect()
    client.loop_stop()
    print(json.dumps({"sent": len(mids), "acked": len(done), "seconds": sent, "alarms": alarm_times,
                      "alarms_acked": acked_times}), flush=True)


def run_publisher(spec: dict, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--publish", json.dumps(spec)], env=env, cwd=str(ROOT),
                            stdout=subprocess.PIPE, text=True)


def publisher_result(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate(timeout=300)
    return json.loads(out.strip().splitlines()[-1])


# ---- the database ----------------------------------------------------------------------------------


def prepare_db(env: dict, devices: int) -> None:
    code_ = f"""
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
call_command("createcachetable", verbosity=0)
from yizhan.core.testing.factories import make_jurisdiction_tree
from yizhan.safety.tests.conftest import build_safety_tree
from yizhan.safety.models import Device
st = build_safety_tree(make_jurisdiction_tree())
place = st.rental_house
kinds = ("gas", "smoke", "electrical")
Device.objects.bulk_create([Device(code=f"HZ-{{i:05d}}", kind=kinds[i % 3], place=place,
                                   jurisdiction_id=place.jurisdiction_id, heartbeat_interval=30)
                            for i in range(1, {devices} + 1)], batch_size=2000)
"""
    subprocess.run([sys.executable, "-c", code_], env=env, cwd=str(ROOT), check=True)


# ---- in-process subscribers -----------------------------------------------------------------------------


def session(port: int, client_id: str):
    """Create a persistent MQTT 5 session subscribed to the topic, then leave it."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    ready = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.on_connect = lambda cl, u, f, rc, p: cl.subscribe(TOPIC, qos=1)
    c.on_subscribe = lambda *a: ready.set()
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    c.connect("127.0.0.1", port, clean_start=False, properties=props)
    c.loop_start()
    ready.wait(10)
    c.disconnect()
    c.loop_stop()


def end_session(port: int, client_id: str) -> None:
    """Drop a persistent session (so the broker stops queueing for it)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", port, clean_start=True)
    c.loop_start()
    time.sleep(0.2)
    c.disconnect()
    c.loop_stop()


def drain_noop(port: int, client_id: str, n: int) -> float:
    """msg/s of a paho subscriber that does nothing with its messages (auto-ack)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    got = [0]
    times = {}
    finished = threading.Event()

    def on_message(cl, u, m):
        got[0] += 1
        if got[0] == 1:
            times["first"] = time.perf_counter()
        if got[0] >= n:
            times["last"] = time.perf_counter()
            finished.set()

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.on_message = on_message
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 5000
    c.connect("127.0.0.1", port, clean_start=False, properties=props)
    c.loop_start()
    finished.wait(300)
    c.disconnect()
    c.loop_stop()
    return (got[0] - 1) / (times["last"] - times["first"]) if "last" in times else float("nan")


def make_consumer(port: int, client_id: str, pipeline, on_batch=None):
    from dataclasses import replace

    from yizhan.safety.mqtt.consumer import Consumer
    from yizhan.safety.mqtt.settings import MqttSettings

    settings = replace(MqttSettings(), host="127.0.0.1", port=port, shared=False, client_id=client_id)
    return Consumer(settings=settings, pipeline=pipeline, on_batch=on_batch, flush_every=None)


def consume_until(consumer, done, timeout: float) -> None:
    """Run the consumer in this thread until ``done()`` (checked from a side thread)."""
    stop = threading.Event()

    def watch():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not done():
            time.sleep(0.05)
        time.sleep(0.2)
        stop.set()

    threading.Thread(target=watch, daemon=True).start()
    consumer.run(stop)


def idle_for(consumer, seconds: float):
    """done() once the consumer has received nothing for ``seconds``."""
    state = {"n": -1, "since": time.monotonic()}

    def done():
        n = consumer.stats.received
        if n != state["n"]:
            state["n"], state["since"] = n, time.monotonic()
        return n > 0 and time.monotonic() - state["since"] > seconds

    return done


# ---- phases ----------------------------------------------------------------------------------------------


def phase_throughput(port, env, args) -> dict:
    from yizhan.safety.ingest.pipeline import default_pipeline

    n = args.messages
    session(port, "bench-noop")
    session(port, "bench-null")
    session(port, "bench-ingest")
    smoke = smoke_devices(args.devices)
    alarms = {k: smoke[(k // 2000) % len(smoke)] for k in range(1999, n, 2000)}
    log(f"throughput: queueing {n:,} messages for both sessions ...")
    res = publisher_result(run_publisher({"port": port, "devices": args.devices, "messages": n, "alarms": alarms}, env))
    log(f"  queued in {res['seconds']:.1f} s ({res['sent'] / res['seconds']:,.0f} msg/s publish); draining no-op ...")
    noop = drain_noop(port, "bench-noop", n)
    log(f"  no-op: {noop:,.0f} msg/s; draining the consumer with a pipeline that does nothing ...")

    class NullPipeline:
        def handle_many(self, msgs):
            return [None] * len(msgs)

        def reject(self, **kw):
            pass

        def flush(self):
            pass

    null_marks = {}

    def on_null(batch, outcomes):
        null_marks.setdefault("first", time.perf_counter())
        null_marks["last"] = time.perf_counter()

    null = make_consumer(port, "bench-null", NullPipeline(), on_null)
    consume_until(null, lambda: null.stats.received >= n, timeout=240)
    null_rate = null.stats.received / (null_marks["last"] - null_marks["first"]) if "last" in null_marks else float("nan")
    end_session(port, "bench-null")
    log(f"  consumer, null pipeline: {null_rate:,.0f} msg/s; draining ingest ...")
    pipeline = default_pipeline()
    pipeline.start(interval=1.0)
    marks = {}

    def on_batch(batch, outcomes):
        marks.setdefault("first", time.perf_counter())
        marks["last"] = time.perf_counter()

    consumer = make_consumer(port, "bench-ingest", pipeline, on_batch)
    consume_until(consumer, lambda: consumer.stats.received >= n, timeout=240)
    rate = consumer.stats.received / (marks["last"] - marks["first"]) if "last" in marks else float("nan")
    end_session(port, "bench-noop")
    end_session(port, "bench-ingest")
    log(f"  ingest: {rate:,.0f} msg/s ({consumer.stats.received:,} messages, {consumer.stats.batches} batches)")
    return {"noop": noop, "null": null_rate, "ingest": rate, "received": consumer.stats.received, "outcomes": consumer.stats.outcomes}


def phase_latency(port, env, args, first_alarm_device: int) -> tuple[dict, int]:
    from yizhan.safety.ingest.pipeline import default_pipeline
    from yizhan.safety.models import Dispatch

    steady = args.devices / 30
    phases = [(steady, 15.0), (steady * 10, 5.0)]
    total = int(steady * 15) + int(steady * 50)
    smoke = [i for i in smoke_devices(args.devices) if i >= first_alarm_device]
    every = max(1, total // 60)
    alarms = {k: smoke[j] for j, k in enumerate(range(every // 2, total, every)) if j < len(smoke)}
    session(port, "bench-latency")
    pipeline = default_pipeline()
    pipeline.alarm_latencies.clear()  # received → alarm committed, for this phase only
    consumer = make_consumer(port, "bench-latency", pipeline)
    consumer.start()
    consumer.wait_subscribed(10)
    log(f"latency: {steady:,.0f} msg/s for 15 s, then {steady * 10:,.0f} msg/s for 5 s; {len(alarms)} alarms ...")
    res = publisher_result(run_publisher({"port": port, "devices": args.devices, "messages": total, "alarms": alarms,
                                          "phases": phases}, env))
    done = idle_for(consumer, 1.5)
    deadline = time.monotonic() + 60
    while not done() and time.monotonic() < deadline:
        time.sleep(0.1)
    consumer.stop()
    end_session(port, "bench-latency")
    notified = {d.alarm.device.code: d.notified_at.timestamp()
                for d in Dispatch.objects.select_related("alarm__device").filter(alarm__device__code__in=list(res["alarms"]))}
    lat = [notified[c] - t for c, t in res["alarms"].items() if c in notified]
    at_broker = [notified[c] - t for c, t in res["alarms_acked"].items() if c in notified]
    lost = len(res["alarms"]) - len(lat)
    burst_start = 15.0
    log(f"  {len(lat)} dispatched, {lost} lost; p50 {pct(lat, .5) * 1000:.0f} ms p99 {pct(lat, .99) * 1000:.0f} ms")
    inner = list(pipeline.alarm_latencies)
    return {"sent": res["sent"], "alarms": len(res["alarms"]), "lost": lost, "p50": pct(lat, .5), "p99": pct(lat, .99),
            "max": max(lat) if lat else float("nan"), "burst_at": burst_start,
            "inner_p50": pct(inner, .5), "inner_p99": pct(inner, .99),
            "broker_p50": pct(at_broker, .5), "broker_p99": pct(at_broker, .99), "publish_rate": res["sent"] / res["seconds"]}, \
        max(alarms.values()) + 1


def fault_spec(port, args, first_alarm_device: int, n=20000, n_alarms=50):
    smoke = [i for i in smoke_devices(args.devices) if i >= first_alarm_device][:n_alarms]
    alarms = {k: smoke[j] for j, k in enumerate(range(100, n, n // n_alarms)) if j < len(smoke)}
    return {"port": port, "devices": args.devices, "messages": n, "alarms": alarms}, max(smoke) + 1


def alarms_for(codes) -> int:
    from yizhan.safety.models import Alarm

    return Alarm.objects.filter(device__code__in=list(codes), kind="smoke").values("device").distinct().count()


def phase_broker_restart(broker, env, args, first_alarm_device: int) -> tuple[dict, int]:
    from yizhan.safety.ingest.pipeline import default_pipeline

    spec, nxt = fault_spec(broker.port, args, first_alarm_device)
    session(broker.port, "bench-restart")
    consumer = make_consumer(broker.port, "bench-restart", default_pipeline())
    consumer.start()
    consumer.wait_subscribed(10)
    log("fault: broker restarted 1 s into a burst of 20,000 with 50 alarms ...")
    pub = run_publisher(spec, env)
    time.sleep(1.0)
    broker.restart()
    res = publisher_result(pub)
    done = idle_for(consumer, 2.0)
    deadline = time.monotonic() + 60
    while not done() and time.monotonic() < deadline:
        time.sleep(0.1)
    consumer.stop()
    end_session(broker.port, "bench-restart")
    got = alarms_for(res["alarms"])
    log(f"  {got}/{len(res['alarms'])} alarms raised")
    return {"alarms": len(res["alarms"]), "raised": got, "acked": res["acked"], "sent": res["sent"]}, nxt


def phase_ingest_killed(broker, env, args, first_alarm_device: int) -> dict:
    spec, _ = fault_spec(broker.port, args, first_alarm_device)
    env = dict(env, YIZHAN_MQTT_URL=f"mqtt://127.0.0.1:{broker.port}", YIZHAN_MQTT_SHARED="0",
               YIZHAN_MQTT_CLIENT_ID="bench-killed")
    argv = [sys.executable, "-m", "yizhan.cli", "ingest", "--instance", "1"]
    session(broker.port, "bench-killed-1")
    ingest = subprocess.Popen(argv, env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3.0)  # django start-up and subscription
    log("fault: yizhan ingest killed (SIGKILL) 1 s into a burst of 20,000 with 50 alarms, then started again ...")
    pub = run_publisher(spec, env)
    time.sleep(1.0)
    ingest.kill()
    ingest.wait()
    ingest = subprocess.Popen(argv, env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    res = publisher_result(pub)
    deadline = time.monotonic() + 90
    got = 0
    while time.monotonic() < deadline:
        got = alarms_for(res["alarms"])
        if got >= len(res["alarms"]):
            break
        time.sleep(0.5)
    ingest.send_signal(signal.SIGTERM)
    try:
        ingest.wait(20)
    except subprocess.TimeoutExpired:
        ingest.kill()
    log(f"  {got}/{len(res['alarms'])} alarms raised")
    return {"alarms": len(res["alarms"]), "raised": got, "sent": res["sent"], "acked": res["acked"]}


def phase_offline(args) -> dict:
    from datetime import UTC, datetime

    from yizhan.safety.ingest.message import SensorMessage
    from yizhan.safety.ingest.pipeline import IngestPipeline
    from yizhan.safety.models import Alarm, Device, Place

    n = args.offline_devices
    place = Place.objects.get(code="T-RH-1")
    t = time.perf_counter()
    Device.objects.bulk_create([Device(code=f"OFF-{i:06d}", kind="smoke", place=place, heartbeat_interval=10,
                                       jurisdiction_id=place.jurisdiction_id) for i in range(n)], batch_size=5000)
    log(f"offline: {n:,} devices registered in {time.perf_counter() - t:.0f} s; one heartbeat each ...")
    from yizhan.safety.ingest.device_cache import device_cache_forget

    device_cache_forget()
    pipeline = IngestPipeline()
    now = datetime.now(UTC)
    msgs = [SensorMessage(channel="mqtt", device_code=f"OFF-{i:06d}", dedupe_key="", seq=None, ts=None, battery=None,
                          event="heartbeat", values={}, received_at=now) for i in range(n)]
    t = time.perf_counter()
    for i in range(0, n, 1000):
        pipeline.handle_many(msgs[i:i + 1000])
    pipeline.flush()
    log(f"  {n:,} heartbeats handled and flushed in {time.perf_counter() - t:.1f} s; waiting for the timer ...")
    deadline = time.monotonic() + 90
    offline = 0
    while time.monotonic() < deadline:
        pipeline.flush()  # ticks the timer, as the ingest's flush thread does every second
        offline = Device.objects.filter(code__startswith="OFF-", status="offline").count()
        if offline >= n:
            break
        time.sleep(1.0)
    rows = Alarm.objects.filter(kind="offline", device__code__startswith="OFF-").values_list(
        "started_at", "device__last_seen_at")
    delays = [(s - seen).total_seconds() for s, seen in rows if seen is not None]
    log(f"  {offline:,} offline; delay p50 {pct(delays, .5):.1f} s max {max(delays) if delays else float('nan'):.1f} s")
    return {"devices": n, "offline": offline, "alarms": len(delays), "p50": pct(delays, .5),
            "p99": pct(delays, .99), "max": max(delays) if delays else float("nan"), "goal": 20.0}


def machine() -> str:
    load = os.getloadavg()[0]
    return f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, load {load:.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=30000)
    ap.add_argument("--devices", type=int, default=11810)
    ap.add_argument("--offline-devices", type=int, default=100000)
    ap.add_argument("--postgres", action="store_true", help="PostgreSQL instead of a SQLite file")
    ap.add_argument("--skip-faults", action="store_true")
    ap.add_argument("--publish", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.publish:
        publish_child(json.loads(args.publish))
        return 0
    started = time.perf_counter()
    env = dict(os.environ)
    env.update({"DEBUG": "0", "LOG_LEVEL": "WARNING", "YIZHAN_NOTIFY_CHANNELS": "",
                "SECRET_KEY": env.get("SECRET_KEY", "bench-only-not-secret-0123456789abcdef"),
                "PYTHONPATH": str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", ""),
                "DJANGO_SETTINGS_MODULE": "yizhan.config.settings"})
    pg_db = f"yizhan_bench_ingest_{os.getpid()}"
    if args.postgres:
        import psycopg

        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{pg_db}"')
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{pg_db}"
    else:
        for p in (SQLITE_PATH, Path(f"{SQLITE_PATH}-wal"), Path(f"{SQLITE_PATH}-shm")):
            p.unlink(missing_ok=True)
        env["DATABASE_URL"] = f"sqlite:///{SQLITE_PATH}"
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DEBUG", "LOG_LEVEL", "YIZHAN_NOTIFY_CHANNELS",
                                           "SECRET_KEY", "DJANGO_SETTINGS_MODULE")})
    broker = Mosquitto()
    try:
        t = time.perf_counter()
        prepare_db(env, args.devices)
        log(f"database: migrated, {args.devices:,} devices in {time.perf_counter() - t:.0f} s")
        import django

        django.setup()
        broker.start()
        thr = phase_throughput(broker.port, env, args)
        lat, nxt = phase_latency(broker.port, env, args, first_alarm_device=args.devices // 2)
        faults = {}
        if not args.skip_faults:
            faults["restart"], nxt = phase_broker_restart(broker, env, args, nxt)
            faults["killed"] = phase_ingest_killed(broker, env, args, nxt)
        off = phase_offline(args)
    finally:
        broker.close()
        if args.postgres:
            from django.db import connections

            connections.close_all()
            import psycopg

            with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)')

    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"\nIngest benchmark — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine()}, {backend}, "
          f"Mosquitto (private, persistence on), {time.perf_counter() - started:.0f} s\n")
    print("| figure | ingest | baseline (same run) | ratio | goal |")
    print("|---|---|---|---|---|")
    ratio = thr["ingest"] / thr["noop"] if thr["noop"] else float("nan")
    print(f"| sustained msg/s, 1 ingest process, rules on ({thr['received']:,} msgs) | {thr['ingest']:,.0f} "
          f"| no-op paho subscriber {thr['noop']:,.0f} | {ratio:.2f} | ≥ 5,000 and ≥ 0.5 |")
    print(f"| the same consumer, a pipeline that does nothing (parse + acks only) | {thr['null']:,.0f} "
          f"| no-op paho subscriber {thr['noop']:,.0f} | {thr['null'] / thr['noop']:.2f} | |")
    print(f"| alarm publish → responder notified, {args.devices:,} × 1/30 s then 10× burst, p50 / p99 "
          f"| {lat['p50'] * 1000:,.0f} ms / {lat['p99'] * 1000:,.0f} ms (max {lat['max'] * 1000:,.0f}) "
          f"| {lat['alarms']} alarms, {lat['lost']} lost; of which received → alarm committed p50 "
          f"{lat['inner_p50'] * 1000:,.0f} ms / p99 {lat['inner_p99'] * 1000:,.0f} ms | | p99 ≤ 1 s, none lost |")
    print(f"| the same alarms from the broker's PUBACK to the responder notified (the load generator's own queue left out), "
          f"p50 / p99 | {lat['broker_p50'] * 1000:,.0f} ms / {lat['broker_p99'] * 1000:,.0f} ms "
          f"| the generator managed {lat['publish_rate']:,.0f} msg/s | | |")
    print(f"| offline detection, {off['devices']:,} devices (interval 10 s), p50 / p99 / max "
          f"| {off['p50']:.1f} / {off['p99']:.1f} / {off['max']:.1f} s | {off['offline']:,} offline | "
          f"{off['max'] / off['goal']:.2f} of the goal | ≤ interval + 10 s = 20 s |")
    for name, label in (("restart", "broker restarted mid-burst"), ("killed", "ingest killed mid-burst")):
        if name in faults:
            f = faults[name]
            print(f"| {label} | {f['raised']}/{f['alarms']} alarms raised | {f['acked']:,}/{f['sent']:,} "
                  f"published acked | | none lost |")
    print(f"\noutcomes (throughput phase): {json.dumps(thr['outcomes'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
