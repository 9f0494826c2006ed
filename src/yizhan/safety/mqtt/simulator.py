"""The sensor simulator of ``yizhan simulate-sensors``: a paho publisher at QoS 1.

Each device sends a heartbeat once per its interval, the devices spread evenly over the
interval (11,810 devices at 300 s: ~40 messages/s, light for a laptop); every
``alarm_every`` seconds one device picked at random sends an alarm with a value that
crosses its kind's threshold. ``seq`` starts from the clock in milliseconds, so a
restarted simulator never repeats a sequence number the pipeline has seen.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from yizhan.safety.mqtt.settings import MqttSettings

# an alarm a device of each kind would send (event + the value that made it)
ALARM_VALUES = {
    "smoke": {"smoke_obscuration": 0.25},
    "gas": {"gas_lel": 35.0},
    "electrical": {"residual_current_ma": 600.0, "cable_temp_c": 95.0},
    "shed_temperature": {"shed_temp_c": 72.0},
}


@dataclass(frozen=True)
class SimDevice:
    code: str
    kind: str = "smoke"
    interval: int = 300


def topic_for(code: str) -> str:
    return f"yizhan/devices/{code}/up"


def heartbeat(seq: int, battery: int) -> bytes:
    return json.dumps({"seq": seq, "ts": int(time.time()), "battery": battery, "event": "heartbeat"},
                      separators=(",", ":")).encode()


def alarm(seq: int, kind: str, battery: int) -> bytes:
    return json.dumps({"seq": seq, "ts": int(time.time()), "battery": battery, "event": "alarm",
                       "values": ALARM_VALUES.get(kind, {})}, separators=(",", ":")).encode()


class Simulator:
    def __init__(self, *, settings: MqttSettings, devices: list[SimDevice], rate: float | None = None,
                 alarm_every: float = 120.0, duration: float = 0.0, seed: int | None = None,
                 log: Callable[[str], None] = print):
        self.settings, self.devices = settings, devices
        self.rate, self.alarm_every, self.duration = rate, alarm_every, duration
        self.random = random.Random(seed)
        self.log = log
        self.sent = self.alarms = 0
        self._seq = {d.code: int(time.time() * 1000) for d in devices}
        self._battery = {d.code: self.random.randint(60, 100) for d in devices}

    def _next_seq(self, code: str) -> int:
        self._seq[code] += 1
        return self._seq[code]

    def _client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"yizhan-sim-{self.random.randrange(1 << 30):x}",
                             protocol=mqtt.MQTTv311)
        if s.username:
            client.username_pw_set(s.username, s.password)
        if s.tls:
            client.tls_set()
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(100_000)  # published while the broker is away: sent on reconnect
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.connect_async(s.host, s.port, keepalive=30)
        return client

    def run(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        if not self.devices:
            self.log("simulate-sensors: no devices")
            return
        client = self._client()
        client.loop_start()
        try:
            self._loop(client, stop)
        finally:
            client.disconnect()
            client.loop_stop()

    def _loop(self, client: mqtt.Client, stop: threading.Event) -> None:
        # one heartbeat per device per interval, spread: device i's first one at i/rate
        # seconds, its next ones one "round" (len(devices)/rate seconds) later
        n = len(self.devices)
        mean_interval = sum(d.interval for d in self.devices) / n
        rate = self.rate or n / mean_interval
        round_s = n / rate
        started = time.monotonic()
        next_alarm = started + (self.alarm_every if self.alarm_every > 0 else float("inf"))
        next_report = started + 10
        i = 0
        while not stop.is_set():
            now = time.monotonic()
            if self.duration and now - started >= self.duration:
                break
            if now >= next_alarm:
                d = self.random.choice(self.devices)
                client.publish(topic_for(d.code), alarm(self._next_seq(d.code), d.kind, self._battery[d.code]), qos=1)
                self.alarms += 1
                self.log(f"simulate-sensors: alarm from {d.code} ({d.kind})")
                next_alarm = now + self.alarm_every
            due = started + (i // n) * round_s + (i % n) / rate
            if due > now:
                stop.wait(min(due - now, 0.5))
                continue
            d = self.devices[i % n]
            client.publish(topic_for(d.code), heartbeat(self._next_seq(d.code), self._battery[d.code]), qos=1)
            self.sent += 1
            i += 1
            if now >= next_report:
                self.log(f"simulate-sensors: {self.sent} heartbeats, {self.alarms} alarms sent")
                next_report = now + 60
