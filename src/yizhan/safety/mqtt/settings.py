"""MQTT client settings, read from the environment (``YIZHAN_MQTT_*``).

``YIZHAN_MQTT_URL``      ``mqtt://[user:password@]host[:port]`` (``mqtts://`` for TLS);
                         default ``mqtt://127.0.0.1:1883`` (the embedded broker, or a local
                         Mosquitto already answering there).
``YIZHAN_MQTT_SHARED``   1/0: subscribe ``$share/yizhan/<topic>`` so N ingest processes split
                         the load; default on when ``YIZHAN_MQTT_URL`` is set (Mosquitto, EMQX),
                         off otherwise (amqtt, the embedded broker, has no shared subscriptions).
``YIZHAN_MQTT_CLIENT_ID`` base client id (default ``yizhan-ingest-<host>``; ``--instance N``
                         appends ``-N``). Stable, so the broker keeps the session's unacknowledged
                         messages while an ingest process restarts.
``YIZHAN_MQTT_BATCH``    messages per pipeline call (default 500), ``YIZHAN_MQTT_BATCH_MS``
                         the longest wait to fill one (default 50 ms).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

DEFAULT_URL = "mqtt://127.0.0.1:1883"
TOPIC = "yizhan/devices/+/up"  # issue 9: yizhan/devices/{device_code}/up
SHARE_GROUP = "yizhan"


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


def _bounded_int(value: str | None, default: int, lo: int, hi: int) -> int:
    try:
        number = int(value) if value not in (None, "") else default
    except ValueError:
        number = default
    return max(lo, min(hi, number))


@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False
    explicit: bool = False  # YIZHAN_MQTT_URL was set (an operated broker, not the embedded one)
    shared: bool = False
    client_id: str = "yizhan-ingest"
    topic: str = TOPIC
    batch: int = 500
    batch_wait: float = 0.05

    @property
    def subscription(self) -> str:
        return f"$share/{SHARE_GROUP}/{self.topic}" if self.shared else self.topic

    @property
    def is_local(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1")


def parse_url(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"YIZHAN_MQTT_URL: scheme must be mqtt:// or mqtts://, not {parts.scheme!r}")
    tls = parts.scheme in ("mqtts", "ssl")
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or (8883 if tls else 1883),
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "tls": tls,
    }


def mqtt_settings(env: dict | None = None) -> MqttSettings:
    env = os.environ if env is None else env
    url = (env.get("YIZHAN_MQTT_URL") or "").strip()
    explicit = bool(url)
    return MqttSettings(
        **parse_url(url or DEFAULT_URL),
        explicit=explicit,
        shared=_flag(env.get("YIZHAN_MQTT_SHARED"), explicit),
        client_id=(env.get("YIZHAN_MQTT_CLIENT_ID") or f"yizhan-ingest-{socket.gethostname()}")[:64],
        batch=_bounded_int(env.get("YIZHAN_MQTT_BATCH"), 500, 1, 5000),
        batch_wait=_bounded_int(env.get("YIZHAN_MQTT_BATCH_MS"), 50, 1, 1000) / 1000,
    )


def device_code_of(topic: str) -> str | None:
    """``yizhan/devices/HZ-00001/up`` -> ``HZ-00001`` (None when the topic has another shape)."""
    parts = topic.split("/")
    if len(parts) < 4 or parts[-1] != "up" or parts[-3] != "devices" or not parts[-2]:
        return None
    return parts[-2]
