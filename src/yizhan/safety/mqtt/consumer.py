"""The MQTT consumer of ``yizhan ingest``: paho in its network thread, the pipeline in ours.

* Subscribes ``yizhan/devices/+/up`` at QoS 1 (``$share/yizhan/...`` when shared).
* Messages are acknowledged by hand, and only after the pipeline has taken the batch they
  came in (its rows committed, or the message refused and counted): an ingest process
  killed mid-burst leaves its unacknowledged messages with the broker, which sends them
  again (its persistent session, a stable client id) to the restarted process; the
  pipeline's dedupe key (device + seq) makes a second delivery a duplicate, not a second
  alarm.
* Alarms jump the queue: a payload carrying an alarm event goes into its own queue, and
  the next batch is the alarms alone, ahead of any heartbeats received before them (the
  acknowledgements then leave out of order, which Mosquitto and EMQX accept).
* MQTT 5 when the broker takes it (its Receive Maximum lets the broker keep up to
  ``RECEIVE_MAXIMUM`` messages in flight to us, so a backlog waits here where alarms
  can jump it; Mosquitto holds an MQTT 3.1.1 client to
  20), MQTT 3.1.1 when it refuses 5 (amqtt): a bare CONNECT probes first.
* A bad message (not JSON, wrong shape, impossible value, unknown device) is refused
  through ``pipeline.reject`` and acknowledged; it never stops the loop. When the pipeline
  itself fails (database gone), the batch is kept, unacknowledged, and tried again with
  back-off. paho reconnects with back-off (1 s doubling to 30 s) and we subscribe again on
  every connect.
"""

from __future__ import annotations

import logging
import queue
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from django.db import close_old_connections
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from yizhan.core.errors import AppError
from yizhan.safety.choices import IngestChannel
from yizhan.safety.ingest.message import parse_json_payload
from yizhan.safety.mqtt.settings import MqttSettings, device_code_of

log = logging.getLogger("yizhan.safety.mqtt")

RECEIVE_MAXIMUM = 65535  # messages in flight from the broker to us (MQTT 5): a backlog waits here, where alarms can jump it
URGENT_MARKS = (b'"alarm"', b'"fire"')  # an alarm event: handled before the heartbeats queued ahead of it
SESSION_EXPIRY = 3600  # seconds the broker keeps our session (and its queued messages) while we are away
KEEPALIVE = 30
EXCERPT = 200  # bytes of a refused payload kept for admins
RETRY_MIN, RETRY_MAX = 0.5, 30.0  # back-off when the pipeline fails (database unreachable)
FLUSH_EVERY = 1.0  # seconds between pipeline.flush() calls (batched liveness)


def _utf8(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(2, "big") + data


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def probe_protocol(settings: MqttSettings, timeout: float = 3.0) -> int | None:
    """``MQTTv5`` when the broker accepts an MQTT 5 CONNECT, ``MQTTv311`` when it refuses
    (amqtt answers "unsupported protocol version"; given a CONNECT with properties it
    answers nothing at all, hence this bare probe), None when it cannot be reached."""
    flags = 0x02 | (0x80 if settings.username else 0) | (0x40 if settings.password else 0)
    body = _utf8("MQTT") + bytes([5, flags]) + (10).to_bytes(2, "big") + b"\x00"
    body += _utf8(f"yizhan-probe-{uuid.uuid4().hex[:12]}")
    if settings.username:
        body += _utf8(settings.username)
    if settings.password:
        body += _utf8(settings.password)
    try:
        with socket.create_connection((settings.host, settings.port), timeout=timeout) as raw:
            sock = ssl.create_default_context().wrap_socket(raw, server_hostname=settings.host) if settings.tls else raw
            sock.sendall(b"\x10" + _remaining_length(len(body)) + body)
            answer = sock.recv(4)
            if len(answer) >= 4 and answer[0] == 0x20 and answer[3] == 0:
                sock.sendall(b"\xe0\x00")  # DISCONNECT
                return mqtt.MQTTv5
            return mqtt.MQTTv311
    except OSError:
        return None


def _reset_connections() -> None:
    """Drop a broken database connection so the next try opens a new one (best effort)."""
    try:
        close_old_connections()
    except Exception:  # noqa: BLE001 - the retry itself will say what is wrong
        log.debug("could not reset the database connections", exc_info=True)


@dataclass
class Inbound:
    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: datetime
    generation: int = 0  # which connection delivered it (only that connection may acknowledge it)


@dataclass
class ConsumerStats:
    received: int = 0
    handled: int = 0
    rejected: int = 0
    batches: int = 0
    pipeline_errors: int = 0
    connects: int = 0
    outcomes: dict = field(default_factory=dict)


class Consumer:
    """``Consumer(settings=..., pipeline=...).run(stop_event)``; ``start()``/``stop()`` run it
    in a background thread (tests, benchmarks)."""

    def __init__(self, *, settings: MqttSettings, pipeline, instance: int | None = None,
                 on_batch: Callable[[list, list], None] | None = None, flush_every: float | None = FLUSH_EVERY):
        self.settings = settings
        self.flush_every = flush_every  # None: the pipeline flushes itself (IngestPipeline.start())
        self.pipeline = pipeline
        self.client_id = settings.client_id if instance is None else f"{settings.client_id}-{instance}"
        self.on_batch = on_batch
        self.stats = ConsumerStats()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self._queue: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
        self._urgent: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
        self._protocol = mqtt.MQTTv5
        self._generation = 0
        self._client: mqtt.Client | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- paho side (its network thread) --------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        kwargs = {} if self._protocol == mqtt.MQTTv5 else {"clean_session": False}
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=self._protocol,
                             manual_ack=True, reconnect_on_failure=True, **kwargs)
        if s.username:
            client.username_pw_set(s.username, s.password)
        if s.tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.max_inflight_messages_set(100)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _connect_properties(self) -> Properties | None:
        if self._protocol != mqtt.MQTTv5:
            return None
        props = Properties(PacketTypes.CONNECT)
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        props.SessionExpiryInterval = SESSION_EXPIRY
        return props

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            if self._protocol == mqtt.MQTTv5 and reason_code.getName() == "Unsupported protocol version":
                self._protocol = mqtt.MQTTv311  # the run loop builds a 3.1.1 client
            log.warning("MQTT connect to %s:%s refused: %s", self.settings.host, self.settings.port, reason_code)
            return
        self.stats.connects += 1
        self._generation += 1
        log.info("MQTT connected to %s:%s as %s (MQTT %s, session present: %s); subscribing %s",
                 self.settings.host, self.settings.port, self.client_id,
                 "5" if self._protocol == mqtt.MQTTv5 else "3.1.1", flags.session_present, self.settings.subscription)
        self.connected.set()
        client.subscribe(self.settings.subscription, qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        if any(rc.is_failure for rc in reason_codes):
            log.error("MQTT subscription %s refused: %s", self.settings.subscription, reason_codes)
            return
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.connected.clear()
        self.subscribed.clear()
        if not self._stop.is_set():
            log.warning("MQTT disconnected (%s); reconnecting with back-off", reason_code)

    def _on_message(self, client, userdata, message):
        payload = message.payload
        urgent = any(mark in payload for mark in URGENT_MARKS)
        item = Inbound(message.topic, payload, message.mid, message.qos, datetime.now(UTC), self._generation)
        (self._urgent if urgent else self._queue).put(item)

    # -- our side --------------------------------------------------------------------

    def _take_batch(self) -> list[Inbound]:
        """Up to ``batch`` messages; alarms first and on their own (they jump a backlog:
        "fire alarms jump every queue"), else what arrives within ``batch_wait``."""
        urgent = []
        while len(urgent) < self.settings.batch:
            try:
                urgent.append(self._urgent.get_nowait())
            except queue.Empty:
                break
        if urgent:
            return urgent
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.settings.batch_wait
        while len(batch) < self.settings.batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    batch.append(self._queue.get(timeout=left))
                except queue.Empty:
                    break
        return batch

    def _reject(self, item: Inbound, code: str, detail: str, device_code: str = "") -> None:
        self.pipeline.reject(channel=IngestChannel.MQTT, reason=code, device_code=device_code[:64],
                             detail=detail[:200], excerpt=item.payload[:EXCERPT], peer=item.topic[:64])
        self.stats.rejected += 1

    def process(self, batch: list[Inbound]) -> list:
        """Parse, refuse the bad ones, hand the rest to the pipeline in one call; returns
        the outcomes. Raises only when the pipeline (or its reject) fails: nothing was
        acknowledged then and the caller retries the batch."""
        messages = []
        for item in batch:
            code = device_code_of(item.topic)
            if code is None:
                self._reject(item, "malformed_message", f"topic {item.topic}")
                continue
            try:
                messages.append(parse_json_payload(code, item.payload, channel=IngestChannel.MQTT,
                                                   received_at=item.received_at))
            except AppError as exc:
                self._reject(item, exc.code, f"{exc.code}: {getattr(exc, 'field', '') or ''}", code)
        outcomes = self.pipeline.handle_many(messages) if messages else []
        self.stats.handled += len(messages)
        for outcome in outcomes:
            kind = getattr(outcome, "kind", None) or getattr(outcome, "status", None) or type(outcome).__name__
            self.stats.outcomes[kind] = self.stats.outcomes.get(kind, 0) + 1
        if self.on_batch is not None:
            self.on_batch(batch, outcomes)
        return outcomes

    def _ack(self, client: mqtt.Client, batch: list[Inbound]) -> None:
        # a message from an earlier connection is not acknowledged: its packet id may now
        # name another message; the broker sends it again (a duplicate for the pipeline)
        generation = self._generation
        for item in batch:
            if item.qos and item.generation == generation:
                client.ack(item.mid, item.qos)

    def run(self, stop: threading.Event | None = None) -> ConsumerStats:
        """Consume until ``stop`` is set; never raises for a message or a broker outage."""
        if stop is not None:
            self._stop = stop
        retry = RETRY_MIN
        last_flush = time.monotonic()
        while not self._stop.is_set():
            probed = probe_protocol(self.settings)
            if probed is None:
                log.warning("MQTT broker %s:%s not answering; trying again in %.0f s",
                            self.settings.host, self.settings.port, retry)
                self._stop.wait(retry)
                retry = min(RETRY_MAX, retry * 2)
                continue
            retry = RETRY_MIN
            self._protocol = probed
            client = self._client = self._make_client()
            protocol = self._protocol
            client.connect_async(self.settings.host, self.settings.port, keepalive=KEEPALIVE,
                                 clean_start=False if protocol == mqtt.MQTTv5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
                                 properties=self._connect_properties())
            client.loop_start()
            try:
                while not self._stop.is_set() and self._protocol == protocol:
                    batch = self._take_batch()
                    while batch and not self._stop.is_set():
                        try:
                            self.process(batch)
                        except Exception:  # noqa: BLE001 - the database or the pipeline failed: keep the batch
                            self.stats.pipeline_errors += 1
                            log.exception("ingest pipeline failed on a batch of %d; retrying in %.1f s",
                                          len(batch), retry)
                            _reset_connections()
                            self._stop.wait(retry)
                            retry = min(RETRY_MAX, retry * 2)
                            continue
                        retry = RETRY_MIN
                        self._ack(client, batch)
                        self.stats.received += len(batch)
                        self.stats.batches += 1
                        batch = []
                    if self.flush_every is not None and time.monotonic() - last_flush >= self.flush_every:
                        self._flush()
                        last_flush = time.monotonic()
            finally:
                if self.flush_every is not None:
                    self._flush()
                client.disconnect()
                client.loop_stop()
            # a protocol change: drop what the old client queued (never acknowledged: the broker resends)
            self._drain_queue()
        return self.stats

    def _flush(self) -> None:
        try:
            self.pipeline.flush()
        except Exception:  # noqa: BLE001 - retried on the next tick
            log.exception("ingest pipeline flush failed")
            _reset_connections()

    def _drain_queue(self) -> None:
        for q in (self._urgent, self._queue):
            while True:
                try:
                    q.get_nowait()
                except queue.Empty:
                    break

    # -- background use ----------------------------------------------------------------

    def start(self) -> Consumer:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name=f"mqtt-consumer-{self.client_id}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wait_subscribed(self, timeout: float = 10.0) -> bool:
        return self.subscribed.wait(timeout)
