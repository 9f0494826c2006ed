"""MQTT test kit (owner: mqtt helper): brokers, a publisher and a recording pipeline.

Brokers: the embedded amqtt broker on a free port (always), the system Mosquitto on
127.0.0.1:1883 (when it answers; CI starts it), and a private Mosquitto on a free port
with persistence in a temporary directory (when the binary is installed), the one that
can be restarted under a test without touching anyone else's broker.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field, replace

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from yizhan.safety.mqtt.broker import EmbeddedBroker, broker_answers, free_port
from yizhan.safety.mqtt.consumer import Consumer
from yizhan.safety.mqtt.settings import MqttSettings

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)


@dataclass
class BrokerRef:
    name: str
    host: str
    port: int
    shared: bool  # supports $share
    restart: object = None  # callable: stop, wait, start again (None when it cannot be restarted here)


class PrivateMosquitto:
    """``mosquitto -c <tmp conf>`` on a free port, persistence on, for restart tests."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="yizhan-mosq-")
        os.chmod(self.dir, 0o777)  # run as root, mosquitto drops to its own user before saving
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                    f"persistence_location {self.dir}/\nmax_queued_messages 100000\n")
        self.proc = None

    def start(self, timeout: float = 5.0):
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not broker_answers("127.0.0.1", self.port, 0.2):
            if time.monotonic() > deadline:
                raise RuntimeError("private mosquitto did not start")
            time.sleep(0.05)
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # saves its persistence file
            self.proc.wait(10)
        self.proc = None

    def restart(self, down: float = 0.5):
        self.stop()
        time.sleep(down)
        self.start()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def unique_topic() -> str:
    """A topic filter of its own per test, so tests on a shared broker never see each other."""
    return f"yizhan-test-{uuid.uuid4().hex[:10]}/devices/+/up"


def settings_for(broker: BrokerRef, topic: str, **extra) -> MqttSettings:
    values = {"host": broker.host, "port": broker.port, "shared": broker.shared, "topic": topic,
              "client_id": f"yizhan-test-{uuid.uuid4().hex[:8]}", "batch": 200, "batch_wait": 0.02, **extra}
    return replace(MqttSettings(), **values)


def topic_of(topic_filter: str, code: str) -> str:
    return topic_filter.replace("+", code)


class Publisher:
    """A paho publisher at QoS 1 that queues while the broker is away."""

    def __init__(self, broker: BrokerRef):
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"yizhan-test-pub-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)  # unlimited
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.connected = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: self.connected.set() if not rc.is_failure else None
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.published: set[int] = set()  # mids the broker acknowledged (QoS 1 PUBACK)
        self.client.on_publish = lambda c, u, mid, rc, p: self.published.add(mid)
        self.client.connect_async(broker.host, broker.port, keepalive=10)
        self.client.loop_start()
        assert self.connected.wait(10), f"publisher could not connect to {broker.name}"
        self.infos = []

    def send(self, topic: str, payload) -> None:
        if not isinstance(payload, bytes | bytearray):
            payload = json.dumps(payload).encode()
        self.infos.append(self.client.publish(topic, payload, qos=1))

    def wait_sent(self, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # a message published while the broker was away is queued in the client (its info
            # says "not connected") and sent, same mid, once it is back
            if all(i.mid in self.published for i in self.infos):
                return True
            time.sleep(0.02)
        return False

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class Outcome:
    status: str
    reason: str = ""
    alarm_id: int | None = None


@dataclass
class RecordingPipeline:
    """Stands in for ``IngestPipeline`` in the transport tests: dedupes on (device, key),
    refuses devices it does not know, can be told to fail its next calls."""

    known: set = field(default_factory=set)
    messages: list = field(default_factory=list)
    rejects: list = field(default_factory=list)
    seen: set = field(default_factory=set)
    fail_next: int = 0
    flushes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle_many(self, msgs):
        with self.lock:
            if self.fail_next:
                self.fail_next -= 1
                raise RuntimeError("database went away")
            return [self._one(m) for m in msgs]

    def handle(self, msg):
        return self.handle_many([msg])[0]

    def _one(self, msg):
        if msg.device_code not in self.known:
            self.rejects.append(("unknown_device", msg.device_code))
            return Outcome("rejected", "unknown_device")
        key = (msg.device_code, msg.dedupe_key)
        if msg.dedupe_key and key in self.seen:
            return Outcome("duplicate")
        self.seen.add(key)
        self.messages.append(msg)
        return Outcome("alarm" if msg.event == "alarm" else "accepted")

    def reject(self, *, channel, reason, device_code="", detail="", excerpt=b"", peer=""):
        with self.lock:
            self.rejects.append((reason, device_code))

    def flush(self):
        self.flushes += 1


def run_consumer(consumer: Consumer, until, timeout: float = 20.0, during=None) -> bool:
    """Run ``consumer`` in THIS thread (the database stays in the test's transaction) until
    ``until()`` is true or ``timeout``; ``during(consumer)`` runs in a side thread once it
    has subscribed (publishing, restarting the broker). Returns whether ``until`` held."""
    stop = threading.Event()
    result = {"ok": False, "error": None}

    def watch():
        try:
            if not consumer.wait_subscribed(10):
                return
            if during is not None:
                during(consumer)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not stop.is_set():
                if until():
                    result["ok"] = True
                    break
                time.sleep(0.05)
            time.sleep(0.2)  # let the last batch's acks go out
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            result["error"] = exc
        finally:
            stop.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    consumer.run(stop)
    watcher.join(5)
    if result["error"] is not None:
        raise result["error"]
    return result["ok"]


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedded_broker():
    with EmbeddedBroker(port=free_port()) as broker:
        ref = BrokerRef("amqtt", broker.host, broker.port, shared=False)

        def restart(down=0.5):
            broker.stop()
            time.sleep(down)
            broker.start()

        ref.restart = restart
        yield ref


@pytest.fixture(scope="module")
def system_mosquitto():
    if not broker_answers("127.0.0.1", 1883):
        pytest.skip("Mosquitto is not answering on 127.0.0.1:1883 (CI starts it in .ci/run; "
                    "locally: mosquitto -d)")
    return BrokerRef("mosquitto", "127.0.0.1", 1883, shared=True)


@pytest.fixture(scope="module")
def private_mosquitto():
    if MOSQUITTO is None:
        pytest.skip("the mosquitto binary is not installed (apt-get install mosquitto)")
    broker = PrivateMosquitto().start()
    ref = BrokerRef("mosquitto-private", "127.0.0.1", broker.port, shared=True, restart=broker.restart)
    yield ref
    broker.close()


@pytest.fixture(params=["amqtt", "mosquitto"])
def broker(request):
    """Each transport test once against the embedded broker, once against Mosquitto."""
    return request.getfixturevalue("embedded_broker" if request.param == "amqtt" else "system_mosquitto")
