"""MQTT into the real ingest pipeline: a device's alarm over the embedded broker and over
Mosquitto becomes one Alarm; a duplicate seq, malformed JSON, an impossible value and an
unknown device are refused and counted (IngestReject rows) without stopping the valid
messages around them."""

from __future__ import annotations

import time

import pytest

from yizhan.safety.ingest.pipeline import IngestPipeline
from yizhan.safety.models import Alarm, DeviceEvent, IngestReject
from yizhan.safety.mqtt.consumer import Consumer
from yizhan.safety.tests import mqtt_kit
from yizhan.safety.tests.mqtt_kit import (
    Publisher,
    run_consumer,
    settings_for,
    topic_of,
    unique_topic,
)

broker, embedded_broker, system_mosquitto = mqtt_kit.broker, mqtt_kit.embedded_broker, mqtt_kit.system_mosquitto

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outside_playwright_loop")]


def test_mqtt_messages_through_the_pipeline(broker, safety_tree):
    st = safety_tree
    topic = unique_topic()
    pipeline = IngestPipeline()
    consumer = Consumer(settings=settings_for(broker, topic), pipeline=pipeline)
    now = int(time.time())
    alarm = {"seq": 7, "ts": now, "battery": 88, "event": "alarm", "values": {"smoke_obscuration": 0.3}}
    sends = [
        (st.smoke.code, alarm),
        (st.smoke.code, b"{broken"),
        (st.gas.code, {"seq": 1, "ts": now, "battery": 150}),  # impossible battery
        ("NO-SUCH-1", {"seq": 1, "event": "heartbeat"}),
        (st.smoke.code, alarm),  # the same seq again (a QoS 1 redelivery)
        (st.gas.code, {"seq": 2, "ts": now, "battery": 77, "event": "heartbeat"}),
        (st.electrical.code, {"seq": 3, "ts": now, "event": "fault"}),
    ]

    def during(c):
        pub = Publisher(broker)
        for code, payload in sends:
            pub.send(topic_of(topic, code), payload)
        assert pub.wait_sent()
        pub.close()

    assert run_consumer(consumer, lambda: consumer.stats.received >= len(sends), during=during), consumer.stats
    pipeline.flush()
    smoke_alarms = Alarm.objects.filter(device=st.smoke, kind="smoke")
    assert smoke_alarms.count() == 1 and smoke_alarms.get().channel == "mqtt"
    assert DeviceEvent.objects.filter(device=st.smoke, dedupe_key="s7").count() == 1
    assert consumer.stats.outcomes.get("duplicate") == 1
    reasons = sorted(IngestReject.objects.filter(channel="mqtt").values_list("reason", flat=True))
    assert reasons == ["impossible_value", "malformed_message", "unknown_device"]
    assert IngestReject.objects.get(reason="unknown_device").device_code == "NO-SUCH-1"
    st.gas.refresh_from_db()
    assert st.gas.last_seen_at is not None and st.gas.status == "online"
    assert Alarm.objects.filter(device=st.electrical, kind="fault").exists()
