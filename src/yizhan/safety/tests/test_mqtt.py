"""MQTT transport (``safety/mqtt``): settings, the processes ``yizhan up`` runs, and the
consumer against the embedded amqtt broker and Mosquitto — bad messages refused and
counted, the loop never stops, no valid message lost across a pipeline failure, a broker
restart or a killed consumer. The pipeline here is a recording stand-in; the real one is
driven in ``test_mqtt_ingest.py``."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
import pytest

from yizhan.safety import processes
from yizhan.safety.mqtt.consumer import Consumer
from yizhan.safety.mqtt.settings import device_code_of, mqtt_settings
from yizhan.safety.tests import mqtt_kit
from yizhan.safety.tests.mqtt_kit import (
    Publisher,
    RecordingPipeline,
    run_consumer,
    settings_for,
    topic_of,
    unique_topic,
)

pytestmark = pytest.mark.usefixtures("outside_playwright_loop")  # see core/testing/fixtures.py

# the kit's fixtures, used here by name
broker, embedded_broker = mqtt_kit.broker, mqtt_kit.embedded_broker
system_mosquitto, private_mosquitto = mqtt_kit.system_mosquitto, mqtt_kit.private_mosquitto

CODES = [f"HZ-{i:05d}" for i in range(1, 21)]


def beat(seq, **extra):
    return {"seq": seq, "ts": int(time.time()), "battery": 90, "event": "heartbeat", **extra}


# -- settings and processes ----------------------------------------------------------------


def test_settings_default_to_the_local_broker_without_shared_subscriptions():
    s = mqtt_settings({})
    assert (s.host, s.port, s.explicit, s.shared, s.tls) == ("127.0.0.1", 1883, False, False, False)
    assert s.subscription == "yizhan/devices/+/up"


def test_settings_from_the_url_share_by_default():
    s = mqtt_settings({"YIZHAN_MQTT_URL": "mqtts://ingest:p%40ss@emqx.example:8884", "YIZHAN_MQTT_BATCH": "99999"})
    assert (s.host, s.port, s.username, s.password, s.tls, s.shared) == ("emqx.example", 8884, "ingest", "p@ss",
                                                                          True, True)
    assert s.subscription == "$share/yizhan/yizhan/devices/+/up"
    assert s.batch == 5000  # bounded
    assert mqtt_settings({"YIZHAN_MQTT_URL": "mqtt://mq:1883", "YIZHAN_MQTT_SHARED": "0"}).shared is False
    with pytest.raises(ValueError):
        mqtt_settings({"YIZHAN_MQTT_URL": "http://mq"})


def test_device_code_of_topic():
    assert device_code_of("yizhan/devices/HZ-00001/up") == "HZ-00001"
    assert device_code_of("yizhan/devices//up") is None
    assert device_code_of("yizhan/devices/HZ-00001/down") is None


def test_processes_run_the_broker_only_when_needed(monkeypatch):
    monkeypatch.delenv("YIZHAN_MQTT_URL", raising=False)
    monkeypatch.delenv("YIZHAN_INGEST", raising=False)
    monkeypatch.delenv("YIZHAN_GB26875", raising=False)
    monkeypatch.setattr(processes, "broker_answers", lambda host, port: False)
    assert processes.broker_argv() == ["mqtt-broker", "--standby"]
    monkeypatch.setattr(processes, "broker_answers", lambda host, port: True)  # a Mosquitto answers
    assert processes.broker_argv() is None
    monkeypatch.setattr(processes, "broker_answers", lambda host, port: False)
    monkeypatch.setenv("YIZHAN_MQTT_URL", "mqtt://mq.example:1883")
    assert processes.broker_argv() is None
    assert processes.ingest_argv() == ["ingest"]
    assert processes.gb26875_argv() == ["gb26875"]
    monkeypatch.setenv("YIZHAN_INGEST", "0")
    assert processes.ingest_argv() is None


def test_manifest_declares_the_processes(monkeypatch):
    from yizhan.core.manifest import process_commands

    monkeypatch.setenv("YIZHAN_MQTT_URL", "mqtt://mq.example:1883")
    commands = process_commands()
    assert commands["ingest"] == ["ingest"] and commands["gb26875"] == ["gb26875"]
    assert "mqtt-broker" not in commands


# -- the consumer against a broker -------------------------------------------------------------


def test_bad_messages_are_refused_and_counted_the_good_ones_around_them_kept(broker):
    topic = unique_topic()
    pipeline = RecordingPipeline(known=set(CODES))
    consumer = Consumer(settings=settings_for(broker, topic), pipeline=pipeline)
    good = [(code, beat(100 + i)) for i, code in enumerate(CODES)]
    bad = [
        ("HZ-00001", b"{not json"),
        ("HZ-00002", b"[1, 2, 3]"),
        ("HZ-00003", {"seq": 5, "battery": 150}),  # impossible
        ("HZ-00004", {"seq": "five"}),
        ("HZ-99999", beat(1)),  # unknown device
        ("HZ-00005", b"\xff\xfe\x00"),
    ]
    dup = ("HZ-00006", beat(105))  # HZ-00006 already sent seq 105

    def during(c):
        pub = Publisher(broker)
        for i, (code, payload) in enumerate(good):
            pub.send(topic_of(topic, code), payload)
            if i < len(bad):
                pub.send(topic_of(topic, bad[i][0]), bad[i][1])
        pub.send(topic_of(topic, dup[0]), dup[1])
        pub.send(topic_of(topic, "HZ-00007"), beat(999, event="alarm", values={"smoke_obscuration": 0.3}))
        assert pub.wait_sent()
        pub.close()

    ok = run_consumer(consumer, lambda: consumer.stats.received >= len(good) + len(bad) + 2, during=during)
    assert ok, consumer.stats
    assert sorted(m.device_code for m in pipeline.messages if m.event == "heartbeat") == CODES
    assert [m.device_code for m in pipeline.messages if m.event == "alarm"] == ["HZ-00007"]
    assert sorted(r for r, _ in pipeline.rejects) == sorted(
        ["malformed_message", "malformed_message", "impossible_value", "malformed_message", "unknown_device",
         "malformed_message"])
    assert consumer.stats.outcomes.get("duplicate") == 1
    assert consumer.stats.pipeline_errors == 0


def test_a_failing_pipeline_keeps_the_batch_and_tries_again(broker):
    topic = unique_topic()
    pipeline = RecordingPipeline(known=set(CODES), fail_next=2)
    consumer = Consumer(settings=settings_for(broker, topic), pipeline=pipeline)

    def during(c):
        pub = Publisher(broker)
        for i, code in enumerate(CODES):
            pub.send(topic_of(topic, code), beat(i))
        assert pub.wait_sent()
        pub.close()

    assert run_consumer(consumer, lambda: len(pipeline.messages) >= len(CODES), during=during)
    assert sorted(m.device_code for m in pipeline.messages) == CODES
    assert consumer.stats.pipeline_errors == 2


def test_embedded_broker_restart_the_consumer_comes_back_by_itself(embedded_broker):
    """amqtt keeps no session across its own restart (what is published between its
    return and the consumer's new subscription has nobody to go to: README says so);
    the consumer reconnects with back-off, subscribes again and goes on."""
    b = embedded_broker
    topic = unique_topic()
    pipeline = RecordingPipeline(known=set(CODES))
    consumer = Consumer(settings=settings_for(b, topic), pipeline=pipeline)

    def during(c):
        pub = Publisher(b)
        for i, code in enumerate(CODES):
            pub.send(topic_of(topic, code), beat(i))
        assert pub.wait_sent()
        deadline = time.monotonic() + 10
        while len(pipeline.messages) < len(CODES) and time.monotonic() < deadline:
            time.sleep(0.05)
        b.restart(down=0.3)
        deadline = time.monotonic() + 15
        while c.stats.connects < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert c.wait_subscribed(15) and c.stats.connects >= 2
        for i, code in enumerate(CODES):
            pub.send(topic_of(topic, code), beat(1000 + i, event="alarm"))
        assert pub.wait_sent(30)
        pub.close()

    assert run_consumer(consumer, lambda: len(pipeline.messages) >= 2 * len(CODES), timeout=40, during=during)
    assert sorted(m.device_code for m in pipeline.messages if m.event == "alarm") == CODES
    assert consumer._protocol == mqtt.MQTTv311  # amqtt refused MQTT 5


def test_mosquitto_restart_mid_stream_loses_nothing(private_mosquitto):
    """A steady stream while the broker restarts (SIGTERM: it saves its sessions): every
    message arrives, some perhaps twice (the pipeline's dedupe makes that one).

    On the plain topic: Mosquitto 2.0.11 does not bring a ``$share`` subscription back
    from its persistence file, so what is published between its return and the
    consumer's new SUBSCRIBE is dropped (README, Performance: ingest)."""
    b = private_mosquitto
    topic = unique_topic()
    pipeline = RecordingPipeline(known=set(CODES))
    consumer = Consumer(settings=settings_for(b, topic, shared=False), pipeline=pipeline)
    sent = 200

    def during(c):
        pub = Publisher(b)

        def stream():
            for i in range(sent):
                pub.send(topic_of(topic, CODES[i % len(CODES)]), beat(i, event="alarm"))
                time.sleep(0.005)

        t = threading.Thread(target=stream)
        t.start()
        time.sleep(0.3)
        b.restart(down=0.3)
        t.join()
        assert pub.wait_sent(30)
        pub.close()

    ok = run_consumer(consumer, lambda: len(pipeline.seen) >= sent, timeout=15, during=during)
    assert ok, sorted(set(range(sent)) - {int(seq[1:]) for _, seq in pipeline.seen})
    assert sorted(seq for _, seq in pipeline.seen) == sorted(f"s{i}" for i in range(sent))
    assert consumer.stats.connects >= 2


def test_a_killed_consumer_leaves_its_messages_with_the_broker(private_mosquitto):
    """Nothing is acknowledged before the pipeline took it: a consumer that dies holding
    a burst leaves it in its persistent session, and the next process with the same
    client id gets all of it."""
    b = private_mosquitto
    topic = unique_topic()
    settings = settings_for(b, topic, shared=False)
    dying = RecordingPipeline(known=set(CODES), fail_next=10**6)  # never gets to commit
    first = Consumer(settings=settings, pipeline=dying)

    def during(c):
        pub = Publisher(b)
        for i, code in enumerate(CODES):
            pub.send(topic_of(topic, code), beat(i, event="alarm"))
        assert pub.wait_sent()
        pub.close()

    run_consumer(first, lambda: first.stats.pipeline_errors >= 1, timeout=10, during=during)
    assert dying.messages == []
    pipeline = RecordingPipeline(known=set(CODES))
    second = Consumer(settings=settings, pipeline=pipeline)  # same client id: same session
    assert run_consumer(second, lambda: len(pipeline.messages) >= len(CODES), timeout=20)
    assert sorted(m.device_code for m in pipeline.messages) == CODES


def test_shared_subscription_splits_the_load(system_mosquitto):
    b = system_mosquitto
    topic = unique_topic()
    pipelines = [RecordingPipeline(known=set(CODES)) for _ in range(2)]
    consumers = [Consumer(settings=settings_for(b, topic), pipeline=p) for p in pipelines]
    for c in consumers:
        c.start()
    try:
        assert all(c.wait_subscribed(10) for c in consumers)
        pub = Publisher(b)
        for i in range(200):
            pub.send(topic_of(topic, CODES[i % len(CODES)]), beat(i))
        assert pub.wait_sent()
        pub.close()
        deadline = time.monotonic() + 20
        while sum(len(p.messages) for p in pipelines) < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        for c in consumers:
            c.stop()
    counts = [len(p.messages) for p in pipelines]
    assert sum(counts) == 200 and min(counts) > 0, counts


def test_simulator_sends_heartbeats_and_alarms_the_pipeline_accepts(embedded_broker):
    from datetime import UTC, datetime

    from yizhan.safety.ingest.message import parse_json_payload
    from yizhan.safety.mqtt.simulator import ALARM_VALUES, SimDevice, Simulator, alarm, heartbeat

    now = datetime.now(UTC)
    assert parse_json_payload("HZ-00001", heartbeat(5, 90), channel="mqtt", received_at=now).is_heartbeat
    for kind, values in ALARM_VALUES.items():
        msg = parse_json_payload("HZ-00001", alarm(6, kind, 90), channel="mqtt", received_at=now)
        assert msg.event == "alarm" and msg.values == values
    topic = "yizhan/devices/+/up"
    pipeline = RecordingPipeline(known={f"SIM-{i}" for i in range(20)})
    consumer = Consumer(settings=settings_for(embedded_broker, topic), pipeline=pipeline)
    sim = Simulator(settings=settings_for(embedded_broker, topic), devices=[SimDevice(f"SIM-{i}") for i in range(20)],
                    rate=200, alarm_every=0.3, duration=1.0, seed=1, log=lambda text: None)
    ok = run_consumer(consumer, lambda: sim.sent >= 100 and len(pipeline.messages) >= sim.sent + sim.alarms,
                      timeout=15, during=lambda c: sim.run())
    assert ok, (sim.sent, sim.alarms, len(pipeline.messages))
    assert sim.alarms >= 2 and any(m.event == "alarm" for m in pipeline.messages)
    assert len({(m.device_code, m.seq) for m in pipeline.messages}) == len(pipeline.messages)  # seqs never repeat


def test_alarms_jump_the_queue():
    from types import SimpleNamespace

    consumer = Consumer(settings=mqtt_settings({}), pipeline=RecordingPipeline())
    for i in range(5):
        consumer._on_message(None, None, SimpleNamespace(topic=f"yizhan/devices/HZ-0000{i}/up", mid=i + 1, qos=1,
                                                         payload=b'{"seq":%d,"event":"heartbeat"}' % i))
    consumer._on_message(None, None, SimpleNamespace(topic="yizhan/devices/HZ-00009/up", mid=9, qos=1,
                                                     payload=b'{"seq":9,"event":"alarm"}'))
    assert [item.mid for item in consumer._take_batch()] == [9]
    assert [item.mid for item in consumer._take_batch()] == [1, 2, 3, 4, 5]
